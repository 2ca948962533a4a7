"""AWS clients for the page, from Airflow's own connection (``settings.aws_conn_id``), reused.

Built through the Amazon provider's hooks like the DAG's tasks (``load_steps.dynamodb_client``),
so the api-server needs no AWS configuration of its own. Creating a client costs tens of
milliseconds, more than a page's query against a local table, so one client per service is kept
per process and rebuilt after ``TTL_SECONDS`` (rotated credentials in the connection are picked
up). boto3 clients are thread-safe; FastAPI runs the sync routes in a thread pool.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from csv2ddb.settings import Settings

TTL_SECONDS = 900.0
_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def _build(service: str, settings: Settings) -> Any:
    if service == "dynamodb":
        from csv2ddb.provider_clients import dynamodb_client  # the one DynamoDB-client recipe

        return dynamodb_client(settings)
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=settings.aws_conn_id).get_conn()


def client(service: str, settings: Settings) -> Any:
    """The cached low-level client for ``service`` ("dynamodb" or "s3")."""
    key = (service, settings.aws_conn_id)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached and now - cached[0] < TTL_SECONDS:
            return cached[1]
    built = _build(service, settings)
    with _lock:
        _cache[key] = (now, built)
    return built
