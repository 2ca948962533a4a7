"""The routing table published for the S3-event Lambda: one route per dataset (its prefix, DAG,
table and how its files arrive), in the shape ``csv2ddb_core.routing`` reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from csv2ddb_core.routing import ROUTES_VERSION

from csv2ddb.datasets.spec import Dataset


def routing_table(datasets: Sequence[Dataset]) -> dict[str, Any]:
    routes = [
        {"dataset": d.name, "dag_id": d.dag_id, "prefix": d.prefix, "arrive": d.arrive, "table": d.table}
        for d in sorted(datasets, key=lambda d: d.prefix)
    ]
    return {"version": ROUTES_VERSION, "routes": routes}
