"""Where the Loads page lives: one definition for the plugin, the app, the demo and the docs.

Light on purpose (no FastAPI, no Airflow import): the demo prints these URLs.
"""

from __future__ import annotations

URL_PREFIX = "/csv2ddb"  # the api-server mounts the FastAPI app here
PAGE_PATH = "loads"  # the page: <airflow>/csv2ddb/loads
NAV_ROUTE = "csv2ddb-loads"  # Airflow's UI shows it, in its own frame, at <airflow>/plugin/csv2ddb-loads


def nav_url(airflow_url: str) -> str:
    """The page inside Airflow's UI (its nav entry "Loads")."""
    return f"{airflow_url.rstrip('/')}/plugin/{NAV_ROUTE}"
