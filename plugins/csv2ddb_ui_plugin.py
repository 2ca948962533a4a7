"""The csv2ddb "Loads" page in the Airflow UI (Airflow 3 plugin: FastAPI app + nav external view).

This file is the plugin manager's entry point; the page itself lives in ``csv2ddb.ui`` (the plugin
manager does not look inside ``plugins/csv2ddb``, see ``plugins/.airflowignore``). The api-server
mounts the app at ``/csv2ddb`` when it starts; the nav entry shows ``/csv2ddb/loads`` inside
Airflow's own page (an iframe on the same origin, so the UI's session cookie signs it in).
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from csv2ddb.ui.lazy import LazyLoadsApp
from csv2ddb.ui.urls import NAV_ROUTE, PAGE_PATH, URL_PREFIX


class Csv2ddbUiPlugin(AirflowPlugin):
    name = "csv2ddb_ui"
    # Task processes import this file too (for macros): the real app is imported on first request.
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": LazyLoadsApp(), "url_prefix": URL_PREFIX, "name": "csv2ddb loads"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Loads",
            # Relative (no leading slash): resolved against Airflow's base URL, proxies included.
            "href": f"{URL_PREFIX.lstrip('/')}/{PAGE_PATH}",
            "destination": "nav",
            "url_route": NAV_ROUTE,
            "nav_top_level": True,
        }
    ]
