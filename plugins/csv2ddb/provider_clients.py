"""Low-level AWS clients on the Amazon provider's hooks (connection, endpoint, retries), for the
DAG steps, the rollback, the import step and the Loads page alike."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
from botocore.config import Config

from csv2ddb.settings import Settings


def dynamodb_client(settings: Settings, pool: int | None = None, config: Config | None = None) -> Any:
    """A low-level DynamoDB client on DynamoDBHook's session, connection and endpoint.

    ``DynamoDBHook.client`` is the *resource's* client, which serializes values itself: a typed
    ``{"S": "x"}`` becomes a map and a ``load_run_id`` filter silently matches nothing. The
    count check and the audit store speak the typed low-level API, so they get a plain client.
    """
    return session_clients(settings, ("dynamodb",), pool, config)["dynamodb"]


def session_clients(
    settings: Settings, services: tuple[str, ...], pool: int | None = None, config: Config | None = None
) -> dict[str, Any]:
    """Low-level clients of several services on ONE boto3 session of the provider's connection
    (its endpoint per service, botocore config and TLS verification), by service name.

    Why: every hook builds its own session, and a new session loads botocore's endpoint and service
    models anew (0.1-0.3 s of CPU per client on the shared laptop): a step that made its clients per
    file (the bulk verify made two per file, 128 for a group of 64) paid that per file. One session
    loads each model once. ``pool``: connections per client, for a client shared by threads;
    ``config``: more botocore config laid over the connection's (the inline load's retries).
    """
    hook = DynamoDBHook(aws_conn_id=settings.aws_conn_id)  # any AwsBaseHook: the connection's session
    merged = hook.config
    for extra in (Config(max_pool_connections=pool) if pool else None, config):
        if extra is not None:
            merged = merged.merge(extra) if merged is not None else extra
    session = hook.get_session()
    return {
        name: session.client(
            name,
            endpoint_url=hook.conn_config.get_service_endpoint_url(service_name=name),
            config=merged,
            verify=hook.verify,
        )
        for name in services
    }
