"""The chart of docs/benchmarks.md: rows/s and client CPU per million rows, per contender.

matplotlib lives only in the bench virtualenv (.venv-bench) and must get its headless backend
before pyplot is imported: so it is imported when a chart is drawn, and the rest of the report
(and the tests that use it) runs without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report.results import ORDER, UNORDERED, best


def chart(doc: dict[str, Any], path: Path) -> None:
    """Two panels, same contenders: rows/s (with the ceiling as a line) and client CPU per M rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    main = doc["datasets"][0]["name"]
    runs = [r for r in doc["results"] if r["dataset"] == main and r["ok"]]
    runs.sort(key=lambda r: (ORDER.get(r["contender"], UNORDERED), -(r["rows_per_s"] or 0)))
    labels = [r["label"] for r in runs]
    colors = {
        "ceiling": "#9e9e9e",
        "csv2ddb_job": "#1565c0",
        "csv2ddb_dag": "#00897b",
        "transform_only": "#64b5f6",
        "import_table": "#8d6e63",
        "batch_writer": "#ef6c00",
        "awswrangler": "#6a1b9a",
    }
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.55 * len(runs) + 2.2), sharey=True)
    ypos = range(len(runs))
    bar_colors = [colors.get(r["contender"], "#333333") for r in runs]
    ax1.barh(ypos, [r["rows_per_s"] for r in runs], color=bar_colors)
    ax1.set_xscale("log")
    ax1.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax1.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax1.set_yticks(list(ypos), labels, fontsize=8)
    ax1.invert_yaxis()
    ax1.set_xlabel("rows/s (log scale; higher is better)")
    ceiling = best(doc["results"], "ceiling", main)
    if ceiling:
        ax1.axvline(ceiling["rows_per_s"], color="#424242", linestyle="--", linewidth=1)
    for y, r in zip(ypos, runs, strict=True):
        ratio = f"  {r['rows_per_s']:,.0f}" + (
            f" ({r['ratio_to_ceiling']:.2f}×)" if r["ratio_to_ceiling"] else ""
        )
        ax1.text(r["rows_per_s"], y, ratio, va="center", fontsize=7)
    cpu = [r["client_cpu_s_per_m_rows"] or 0 for r in runs]
    ax2.barh(ypos, cpu, color=bar_colors)
    ax2.set_xlabel("client CPU seconds per million rows (lower is better)")
    for y, value in zip(ypos, cpu, strict=True):
        ax2.text(value, y, f"  {value:,.0f}", va="center", fontsize=7)
    rows = doc["datasets"][0]["rows"]
    fig.suptitle(
        f"csv2ddb vs the emulator's ceiling and peers — {rows:,} flights rows, ministack "
        f"{doc['versions']['ministack']}, {doc['machine']['nproc']} cores, {doc['started_at'][:10]}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
