"""Behind Airflow's own login and permissions, never open to anonymous users.

Airflow 3's UI keeps its session as a JWT in the ``_token`` cookie (set at login, refreshed by
the api-server's ``JWTRefreshMiddleware``, which also runs for plugin apps mounted in the
api-server); API clients send the same JWT as ``Authorization: Bearer``. ``get_user`` from
``airflow.api_fastapi.core_api.security`` accepts both, through the configured auth manager,
exactly as for ``/api/v2``. Reading loads then needs the permission to read ``csv2ddb_load``'s
DAG runs (``requires_access_dag``), so whoever may see those runs in Airflow may see this page.
Each dataset is a DAG of its own (``csv2ddb_load__<name>``): its loads are listed only to a user
the auth manager lets read that DAG (:func:`readable_load_dags`).
"""

from __future__ import annotations

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, get_user, requires_access_dag
from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from csv2ddb.datasets.spec import DAG_ID_PREFIX
from csv2ddb.settings import DAG_ID_LOAD

# A FastAPI dependency: 401 without a session or token, 403 with one that may not read the runs.
read_loads = requires_access_dag(method="GET", access_entity=DagAccessEntity.RUN, param_dag_id=DAG_ID_LOAD)


async def page_access(request: Request) -> RedirectResponse | None:
    """For the HTML page: a browser without a (valid) session goes to Airflow's login and comes
    back here after it; a user without the permission gets 403. None = may see the page."""
    try:
        user = await get_user(request, None, None)
    except HTTPException as exc:
        if exc.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            login = get_auth_manager().get_url_login(next_url=str(request.url))
            return RedirectResponse(login, status_code=status.HTTP_303_SEE_OTHER)
        raise
    await run_in_threadpool(read_loads, request, user)  # asks the metadata DB: off the event loop
    return None


def is_load_dag(dag_id: str) -> bool:
    """csv2ddb_load itself or a dataset's load DAG (``csv2ddb_load__<name>``)."""
    return dag_id == DAG_ID_LOAD or dag_id.startswith(DAG_ID_PREFIX)


def readable_load_dags(user: GetUserDep) -> frozenset[str]:
    """The load DAGs whose records this user may see: every load DAG Airflow knows (a dataset whose
    file was removed keeps its DAG's history) that the auth manager lets the user read.

    A sync dependency on purpose: the auth manager asks the metadata DB, so FastAPI runs it in its
    thread pool, off the event loop."""
    readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
    return frozenset(d for d in readable if is_load_dag(d)) | {DAG_ID_LOAD}
