"""The written projection of the Spark engine to 100 M and 1 B rows, from a measured run.

Per-core rate = 1e6 / (client CPU seconds per M rows of the Spark run): every pass (scan, digest,
write) and the JVM are in that CPU, so it is what one executor core sustains when CPU-bound.
Against a table that takes 40,000 write units/s (DynamoDB's default per-table on-demand quota;
flights items are under 1 KB: one WRU each), the workers needed are the cores that saturate it
(4 per G.1X worker) plus one for the driver. Prices (us-east-1, as published):

- AWS Glue: $0.44 per DPU-hour, billed per second, 1-minute minimum; G.1X = 1 DPU
  (https://aws.amazon.com/glue/pricing/).
- DynamoDB on-demand: $0.625 per million write request units (since November 2024)
  (https://aws.amazon.com/dynamodb/pricing/on-demand/); quota: 40,000 WRU/s per table by default
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

TABLE_WCU_PER_S = 40_000
CORES_PER_G1X = 4
DPU_HOUR_USD = 0.44
WRU_MILLION_USD = 0.625
TARGETS = (100_000_000, 1_000_000_000)


def plan(rows: int, per_core: float, shell_rate: float) -> dict[str, Any]:
    cores = math.ceil(TABLE_WCU_PER_S / per_core)
    workers = math.ceil(cores / CORES_PER_G1X) + 1  # + the driver's worker
    rate = min(TABLE_WCU_PER_S, (workers - 1) * CORES_PER_G1X * per_core)
    hours = rows / rate / 3600
    return {
        "rows": rows,
        "workers": workers,
        "hours": hours,
        "glue_usd": workers * hours * DPU_HOUR_USD,
        "writes_usd": rows / 1e6 * WRU_MILLION_USD,
        "shell_hours": rows / shell_rate / 3600,
    }


def projection_markdown(runs: Sequence[dict[str, Any]], measured_on: str) -> str:
    spark = [r for r in runs if r["engine"] == "spark"]
    shell = [r for r in runs if r["engine"] == "pythonshell"]
    if not spark or not shell:
        return ""
    best = min(spark, key=lambda r: r["cpu_s_per_m_rows"])
    per_core = 1e6 / best["cpu_s_per_m_rows"]
    lines = [
        "## Projection: 100 M and 1 B rows on Glue",
        "",
        f"Measured on {measured_on}: the Spark engine costs {best['cpu_s_per_m_rows']:,.0f} CPU s per M rows "
        f"(all passes, JVM included): **{per_core:,.0f} rows/s per core**. The Python shell ran at "
        f"{shell[0]['rows_per_second']:,.0f} rows/s in one process. A table taking "
        f"{TABLE_WCU_PER_S:,} WCU/s needs {math.ceil(TABLE_WCU_PER_S / per_core)} cores: G.1X workers "
        f"have {CORES_PER_G1X}, plus one worker for the driver.",
        "",
        "| rows | G.1X workers | time at 40 k WCU/s | Glue cost | write cost (on-demand) "
        "| Python shell alone |",
        "|--:|--:|--:|--:|--:|--:|",
    ]
    for rows in TARGETS:
        p = plan(rows, per_core, shell[0]["rows_per_second"])
        lines.append(
            f"| {rows:,} | {p['workers']} | {p['hours'] * 60:,.0f} min | ${p['glue_usd']:,.2f} | "
            f"${p['writes_usd']:,.2f} | {p['shell_hours']:,.1f} h |"
        )
    lines += [
        "",
        f"Glue at ${DPU_HOUR_USD}/DPU-hour (https://aws.amazon.com/glue/pricing/); writes at "
        f"${WRU_MILLION_USD} per million WRU, one per item under 1 KB "
        "(https://aws.amazon.com/dynamodb/pricing/on-demand/); 40,000 WRU/s is DynamoDB's default "
        "per-table quota (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html),"
        " raised on request. The write cost does not depend on the engine: the table is the bottleneck "
        "once the workers saturate it, and more workers only cost more. Not measured here: S3 and network "
        "latency from Glue to DynamoDB (a worker's writer threads hide it the way they do locally).",
    ]
    return "\n".join(lines) + "\n"
