"""Which DAG loads a key: the routing table the bootstrap publishes from the dataset files, read
by the S3-event Lambda (bundled into its zip) without importing any DAG.

One rule, here: a key goes to the one route whose prefix it starts with; a key no route claims
(or, from an inconsistent table, more than one) goes nowhere and is reported, never loaded into a
default table. A route whose files arrive by schedule is left alone by the event path.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

ROUTES_VERSION = 1
ARRIVE_EVENT = "event"
ARRIVE_SCHEDULE = "schedule"
ROUTE_FIELDS = ("dataset", "dag_id", "prefix", "arrive", "table")
STATUS_UNROUTED = "unrouted"  # the audit status of a file no route claims (the event path records it)


class RoutingError(ValueError):
    """A routing table that cannot be used (wrong version, a route without its fields)."""


def parse_routes(table: Mapping[str, Any]) -> List[Dict[str, str]]:
    """The routes of a published table, checked."""
    if table.get("version") != ROUTES_VERSION:
        raise RoutingError(
            f"routing table version {table.get('version')!r}; this code reads {ROUTES_VERSION}"
        )
    routes = []
    for index, route in enumerate(table.get("routes") or []):
        missing = [name for name in ROUTE_FIELDS if not route.get(name)]
        if missing:
            raise RoutingError(f"route {index} lacks {missing}: {route!r}")
        routes.append({name: str(route[name]) for name in ROUTE_FIELDS})
    return routes


def route_for(routes: Sequence[Mapping[str, str]], key: str) -> Optional[Mapping[str, str]]:
    """The route that claims ``key``, or None (no dataset claims it)."""
    claiming = [route for route in routes if key.startswith(route["prefix"])]
    return claiming[0] if len(claiming) == 1 else None
