"""Low-level AWS clients on the Amazon provider's hooks (connection, endpoint, retries), for the
DAG steps, the rollback, the import step and the Loads page alike."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
from botocore.config import Config

from csv2ddb.settings import Settings


def dynamodb_client(settings: Settings, pool: int | None = None) -> Any:
    """A low-level DynamoDB client on DynamoDBHook's session, connection and endpoint.

    ``DynamoDBHook.client`` is the *resource's* client, which serializes values itself: a typed
    ``{"S": "x"}`` becomes a map and a ``load_run_id`` filter silently matches nothing. The
    count check and the audit store speak the typed low-level API, so they get a plain client.
    """
    hook = DynamoDBHook(aws_conn_id=settings.aws_conn_id)
    config = hook.config
    if pool:  # one client shared by the check's threads: a connection each
        extra = Config(max_pool_connections=pool)
        config = config.merge(extra) if config is not None else extra
    return hook.get_session().client(
        "dynamodb",
        endpoint_url=hook.conn_config.get_service_endpoint_url(service_name="dynamodb"),
        config=config,
        verify=hook.verify,
    )


def session_clients(settings: Settings, services: tuple[str, ...], pool: int | None = None) -> dict[str, Any]:
    """Low-level clients of several services on ONE boto3 session of the provider's connection
    (its endpoint per service, botocore config and TLS verification), by service name.

    Why: every hook builds its own session, and a new session loads botocore's endpoint and service
    models anew (0.1-0.3 s of CPU per client on the shared laptop): a step that made its clients per
    file (the bulk verify made two per file, 128 for a group of 64) paid that per file. One session
    loads each model once. ``pool``: connections per client, for a client shared by threads.
    """
    hook = DynamoDBHook(aws_conn_id=settings.aws_conn_id)  # any AwsBaseHook: the connection's session
    config = hook.config
    if pool:
        extra = Config(max_pool_connections=pool)
        config = config.merge(extra) if config is not None else extra
    session = hook.get_session()
    return {
        name: session.client(
            name,
            endpoint_url=hook.conn_config.get_service_endpoint_url(service_name=name),
            config=config,
            verify=hook.verify,
        )
        for name in services
    }
