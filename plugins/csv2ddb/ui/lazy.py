"""The Loads app as an ASGI callable that imports the real FastAPI app on its first request.

Airflow imports every plugin in every task process too (``integrate_macros_plugins``, for
macros), so the plugin file must stay cheap: importing FastAPI and Airflow's API security costs
~1.5 s on 2 cores, paid by each task otherwise. Only the api-server ever calls the app.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()


class LazyLoadsApp:
    """Forwards ASGI calls to ``csv2ddb.ui.app.app``, imported once, on first use."""

    def __init__(self) -> None:
        self._app: Any = None

    def _load(self) -> Any:
        with _lock:
            if self._app is None:
                from csv2ddb.ui.app import app

                self._app = app
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self._app or self._load()
        await app(scope, receive, send)
