"""Which dataset's DAG each object of a burst goes to: the routing table the bootstrap publishes
(``s3://<bucket>/<CSV2DDB_ROUTES_KEY>``, one route per dataset file), read once per bucket and
invocation; the rule itself is the load core's (``csv2ddb_core.routing``, bundled in the zip).

- a key under a dataset whose files arrive by event goes to that dataset's DAG;
- a key under a dataset whose files arrive by schedule is left to that DAG's daily run (each file is
  loaded once, by one way in);
- a key no dataset claims is never loaded anywhere: it becomes an ``unrouted`` audit record, with
  the reason, that the Loads page lists.

Without ``CSV2DDB_ROUTES_KEY`` (a function wired by hand, the one-table setup) every key under the
raw prefix goes to ``CSV2DDB_DAG_ID``. A routing table that is missing or unreadable fails the
invocation: its events go back to the queue, they are never loaded into the wrong table.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from csv2ddb_core.contract import event_dag_run_id
from csv2ddb_core.routing import ARRIVE_SCHEDULE, STATUS_UNROUTED, RoutingError, parse_routes, route_for
from s3_events import S3Object

LOG = logging.getLogger("csv2ddb.trigger_dag")


@dataclass
class Routed:
    """A burst's objects sorted by where they go."""

    by_dag: dict[str, list[S3Object]] = field(default_factory=dict)  # DAG id -> its objects
    scheduled: list[tuple[S3Object, str]] = field(default_factory=list)  # (object, its DAG)
    unrouted: list[tuple[S3Object, str]] = field(default_factory=list)  # (object, reason)


def unrouted_reason(key: str) -> str:
    return f"no dataset claims {key}"


class Router:
    """The routes of each bucket the burst names, fetched once."""

    def __init__(self, s3: Any, routes_key: str, default_dag_id: str) -> None:
        self.s3 = s3
        self.routes_key = routes_key
        self.default_dag_id = default_dag_id
        self._routes: dict[str, list[dict[str, str]]] = {}

    def routes(self, bucket: str) -> list[dict[str, str]]:
        if bucket not in self._routes:
            where = f"s3://{bucket}/{self.routes_key}"
            try:
                body = self.s3.get_object(Bucket=bucket, Key=self.routes_key)["Body"].read()
                self._routes[bucket] = parse_routes(json.loads(body))
            except (self.s3.exceptions.NoSuchKey, json.JSONDecodeError, RoutingError) as exc:
                raise RoutingError(f"the routing table {where} cannot be used: {exc}") from exc
            LOG.info("routing table %s: %d route(s)", where, len(self._routes[bucket]))
        return self._routes[bucket]

    def route(self, objects: list[S3Object]) -> Routed:
        routed = Routed()
        for obj in objects:
            if not self.routes_key:
                routed.by_dag.setdefault(self.default_dag_id, []).append(obj)
                continue
            route = route_for(self.routes(obj.bucket), obj.key)
            if route is None:
                routed.unrouted.append((obj, unrouted_reason(obj.key)))
            elif route["arrive"] == ARRIVE_SCHEDULE:
                routed.scheduled.append((obj, route["dag_id"]))
            else:
                routed.by_dag.setdefault(route["dag_id"], []).append(obj)
        return routed


def unrouted_item(obj: S3Object, reason: str, now: datetime | None = None) -> dict[str, Any]:
    """The audit record of a file no dataset claims, as a DynamoDB item (the audit table's key:
    ``dag_run_id`` + ``source``; its ``by_status`` index lists them for the Loads page)."""
    recorded_at = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    item: dict[str, Any] = {
        "dag_run_id": {"S": "unrouted__" + event_dag_run_id(obj.bucket, obj.key, obj.etag)},
        "source": {"S": f"s3://{obj.bucket}/{obj.key}"},
        "source_bucket": {"S": obj.bucket},
        "source_key": {"S": obj.key},
        "source_etag": {"S": obj.etag},
        "status": {"S": STATUS_UNROUTED},
        "reason": {"S": reason},
        "recorded_at": {"S": recorded_at},
        "triggered_by": {"S": "s3_event"},
    }
    if obj.version_id:
        item["source_version_id"] = {"S": obj.version_id}
    if obj.uploaded_by:
        item["uploaded_by"] = {"S": obj.uploaded_by}
    return item


def record_unrouted(dynamodb: Any, audit_table: str, unrouted: list[tuple[S3Object, str]]) -> None:
    """Log each unrouted file and, with an audit table, record it (a repeated event overwrites the
    same record: its id is the object's)."""
    for obj, reason in unrouted:
        LOG.warning("not loading s3://%s/%s: %s", obj.bucket, obj.key, reason)
        if audit_table:
            dynamodb.put_item(TableName=audit_table, Item=unrouted_item(obj, reason))
