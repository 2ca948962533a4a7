"""One contender's record: what its child cost, how many items it left, and whether they verify.

The harness builds records; the report reads them. Both take the record's shape from here.
"""

from __future__ import annotations

from typing import Any

from bench.measure import ChildResult

# The item shapes a contender writes. The emulator's CPU per item differs between them, so each
# is compared with its own ceiling.
TYPED = "typed"  # numbers as N: the loader's default
STRINGS = "strings"  # every column S: what the peers write
NO_WRITES = "transform_only"  # the one contender that builds items and sends nothing
# The processed zone's cost (issue 22): per engine, one contender that loads the same file with the
# zone off, then on (``bench.launch.processed_zone``); its records carry ``engine`` and ``processed``.
ZONE_CONTENDERS = {"pythonshell": "processed_zone", "spark": "processed_zone_spark"}
ENGINE_NAMES = {"pythonshell": "Python shell", "spark": "Spark"}


def item_types(record: dict[str, Any]) -> str:
    """The item shape a record wrote (records written before the field existed were typed)."""
    return record.get("item_types", TYPED)


def make(
    contender: str,
    label: str,
    dataset: dict[str, Any],
    child: ChildResult,
    inner: dict[str, Any],
    count: int | None,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Wall/CPU of the timed phase when the child reports one (``inner``), else of the whole process."""
    ok = child.returncode == 0
    wall = inner.get("phase_wall_s", child.wall_s) if ok else None
    cpu = inner.get("phase_cpu_s", child.cpu_s) if ok else None
    rows = dataset["rows"]
    expected = meta.pop("expected_items", rows)
    meta.setdefault("item_types", TYPED)
    writes = contender != NO_WRITES
    return {
        "contender": contender,
        "label": label,
        "dataset": dataset["name"],
        "rows": rows,
        "ok": ok,
        "exit_code": child.returncode,
        "wall_s": round(wall, 3) if wall is not None else None,
        "process_wall_s": round(child.wall_s, 3),
        "rows_per_s": round(rows / wall, 1) if ok and wall else None,
        "client_cpu_s": round(cpu, 2) if cpu is not None else None,
        "client_cpu_s_per_m_rows": round(cpu / rows * 1e6, 1) if cpu is not None else None,
        "process_cpu_s": round(child.cpu_s, 2),
        "peak_rss_mb": round(child.max_rss_mb, 1),
        "expected_items": expected if writes else None,
        "verified_count": count,
        "verified": (count == expected) if writes else None,
        "error": None if ok else child.stdout_tail[-2000:],
        **meta,
        "inner": inner,
    }


def one_line(r: dict[str, Any]) -> str:
    """The record as the harness prints it when its contender finishes."""
    if not r["ok"]:
        return f"FAILED: exit {r['exit_code']}"
    verified = {True: "verified", False: "NOT VERIFIED", None: "no writes"}[r["verified"]]
    return (
        f"{r['wall_s']:.1f}s  {r['rows_per_s']:,.0f} rows/s  cpu {r['client_cpu_s']:.1f}s  "
        f"rss {r['peak_rss_mb']:.0f}MB  emulator cpu {r['emulator_cpu_s']:.1f}s  "
        f"items {r['verified_count']}/{r['expected_items']} {verified}"
    )
