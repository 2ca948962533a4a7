"""The Markdown tables of docs/benchmarks.md: every run, the DAG run's time, the targets' verdicts.

Also printed by ``bench.run`` at the end of a run.
"""

from __future__ import annotations

from typing import Any

from bench.data import BIG_ON_SINK
from bench.fitted_lines import meet_at
from bench.record import ENGINE_NAMES, ZONE_CONTENDERS
from bench.report.results import ORDER, UNORDERED, zone_pairs, zone_ratios


def _fmt(value: Any, spec: str = ",.0f") -> str:
    """A figure, or a dash where it was not measured."""
    return "—" if value is None else format(value, spec)


def _run_tag(r: dict[str, Any]) -> str:
    """Which run a merged record came from: run-YYYYmmddTHHMMSSZ → ' · run 00:23Z'."""
    run = r.get("run")
    return f" · run {run[13:15]}:{run[15:17]}Z" if run and len(run) >= 17 else ""


def markdown_table(doc: dict[str, Any]) -> str:
    """Every run of the document, emulator runs first, in contender order."""
    head = (
        "| data | contender | threads | wall s | rows/s | × ceiling | client CPU s | CPU s / M rows "
        "| peak RSS MB | emulator CPU s (cores) | items verified | load 1m before→after |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n"
    )
    rows = []
    results = sorted(
        doc["results"],
        key=lambda r: (
            r.get("server", "ministack") != "ministack",
            r["dataset"] == BIG_ON_SINK,
            ORDER.get(r["contender"], UNORDERED),
        ),
    )
    for r in results:
        if r["verified"] is None:
            verified = f"n/a (no writes; {r['inner'].get('items', '?'):,} items built)"
        elif r["verified"]:
            verified = f"✅ {r['verified_count']:,}"
        else:
            verified = f"❌ {_fmt(r['verified_count'])} of {r['expected_items']:,}"
        if r["contender"] == "import_table" and r.get("inner"):
            inner = r["inner"]
            verified += f" (imported {inner.get('imported_item_count')}, errors {inner.get('error_count')})"
        if r["contender"] == "csv2ddb_import" and r.get("inner"):
            inner = r["inner"]
            verified += (
                f" (staging {inner.get('staging_s')} s + import {inner.get('import_s')} s; "
                f"{_fmt(inner.get('staged_bytes'))} bytes in {inner.get('staged_parts')} part(s) staged; "
                f"imported {inner.get('imported_item_count')} of {inner.get('rows_written')} written, "
                f"errors {inner.get('error_count')})"
            )
        rows.append(
            f"| {r['dataset']} ({r['rows']:,}){_run_tag(r)} | {r['label']} | {_fmt(r.get('threads'), 'd')} "
            f"| {_fmt(r['wall_s'], '.1f')} | {_fmt(r['rows_per_s'])} | {_fmt(r['ratio_to_ceiling'], '.2f')} "
            f"| {_fmt(r['client_cpu_s'], '.1f')} | {_fmt(r['client_cpu_s_per_m_rows'])} "
            f"| {_fmt(r['peak_rss_mb'])} "
            f"| {_fmt(r['emulator_cpu_s'], '.1f')} ({_fmt(r['emulator_cores'], '.2f')}) "
            f"| {verified} | {r['load_before'][0]:.2f}→{r['load_after'][0]:.2f} |"
        )
    return head + "\n".join(rows) + "\n"


def dag_section(doc: dict[str, Any]) -> str:
    """Where the DAG run's time goes: the Glue job's own seconds vs the orchestration around it,
    and the same row of the run before this one ("before")."""
    runs = [r for r in doc["results"] if r["contender"] == "csv2ddb_dag" and r["ok"]]
    if not runs:
        return ""
    lines = [
        "### Through the DAG: the orchestration overhead\n",
        "The same file once through `csv2ddb_load` with `dag.test()` (real Airflow, tasks in one",
        "process; the Glue job run by the emulator from the stack's script). *Load* is the job's own",
        "time from its manifest; *Glue run* is the job run as Glue reports it (StartedOn to",
        "CompletedOn: the job's process start included); *orchestration* is the DAG run's wall time",
        "minus the load; *check* is the count check inside it (the load's key list, BatchGetItem).",
        "The DAG row's client CPU and RSS are the Airflow process's; the job's CPU is in the emulator",
        "column.\n",
        "| data | DAG wall s | load s | Glue run s | DAG ÷ Glue run | check s | orchestration s "
        "| per task (s) |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in runs:
        lines.append(_dag_row(f"{r['dataset']} ({r['rows']:,})", r["wall_s"], r.get("inner") or {}))
    before = doc.get("dag_before")
    if before:
        label = f"{before['dataset']} ({before['rows']:,}), before: {before['from']}, {before['started_at']}"
        lines.append(_dag_row(label, before.get("wall_s"), before))
        after = runs[-1]
        was, now = before.get("orchestration_s"), (after.get("inner") or {}).get("orchestration_s")
        if was and now is not None:
            lines.append(
                f"\nOrchestration before → after: {was:,.1f} s → {now:,.1f} s "
                f"({before.get('count_method') or 'scan'} count check → "
                f"{(after.get('inner') or {}).get('count_method')})."
            )
    return "\n".join(lines) + "\n"


def _dag_row(label: str, wall: float | None, inner: dict[str, Any]) -> str:
    tasks = ", ".join(
        f"{name} {_fmt(t.get('seconds'), '.1f')}" for name, t in (inner.get("tasks") or {}).items()
    )
    glue_run = inner.get("glue_run_s")
    cells = [
        label,
        _fmt(wall, ".1f"),
        _fmt(inner.get("glue_job_s"), ".1f"),
        _fmt(glue_run, ".1f"),
        _fmt(wall / glue_run if wall and glue_run else None, ".2f"),
        _fmt(inner.get("check_s"), ".1f"),
        _fmt(inner.get("orchestration_s"), ".1f"),
        tasks,
    ]
    return "| " + " | ".join(cells) + " |"


def check_scale_section(doc: dict[str, Any]) -> str:
    """The count check's seconds against the table's size (bench/check_scale.py)."""
    scale = doc.get("check_scale")
    if not scale:
        return ""
    if not scale.get("ok"):
        return f"### The count check against the table's size\n\nFailed: `{scale.get('error', '')[-300:]}`\n"
    empty, full = scale["empty"], scale["full"]
    return (
        "\n".join(
            [
                "### The count check against the table's size\n",
                f"The same {scale['dataset']} load checked as the DAG checks it (its key list, "
                f"{scale['threads']} threads of BatchGetItem), once in an empty table and once in a table "
                f"already holding {scale['fill_copies']}× as many other items (loaded first, outside the "
                "clock). The check reads the load's keys, never the table: the ratio should stay near 1.\n",
                "| table | items in the table | keys checked | check s | keys/s |",
                "|---|--:|--:|--:|--:|",
                f"| empty | {empty['table_items']:,} | {empty['keys']:,} | {empty['seconds']:.2f} "
                f"| {empty['keys_per_s']:,} |",
                f"| holding {full['table_items_before']:,} other items | {full['table_items']:,} "
                f"| {full['keys']:,} | {full['seconds']:.2f} | {full['keys_per_s']:,} |",
                f"\nRatio full ÷ empty: **{scale['ratio_full_to_empty']:.2f}**.",
                *_rollback_line(scale.get("rollback")),
            ]
        )
        + "\n"
    )


def _rollback_line(rollback: dict[str, Any] | None) -> list[str]:
    if not rollback:
        return []
    return [
        f"\nRolling that load back out of the fuller table (`csv2ddb.history.rollback`: key list, "
        "BatchGetItem, "
        f"conditional PartiQL deletes): {rollback['deleted']:,} items deleted in {rollback['seconds']:.1f} s "
        f"({rollback['items_per_s']:,} items/s); the table went from {rollback['table_items_before']:,} "
        f"to {rollback['table_items_after']:,} items."
    ]


ZONE_INTRO = """\
### The processed zone's cost (issue 22)

The same file loaded by each engine's job with `--processed false` and with `--processed true`
(the Parquet zone written beside the load), the same arguments otherwise, each into a fresh table
of the same settings on the same emulator, one right after the other (with more than one round,
in ABBA order). *Load s* is the job's own time from its manifest (Spark's counts from its session's
start, so the JVM's start-up is in *wall s* only); *zone s* is the manifest's `processed.seconds`
(Python shell: the converter thread's CPU during the load, plus the upload at its end; Spark: its
write tasks' converter CPU and uploads, summed over the tasks, plus the driver's part; both mostly
overlap the writes, so *zone s* is not a share of *load s*). Spark runs in local mode, its master
in the engine column. *Parquet rows* are the zone's parts read back with pyarrow
(rows of the run's `load_run_id`): they must equal the rows written, and the table is verified as
every row above. *Client CPU* is the job's process tree's (sampled every 0.25 s). The goals
(issue 22) are judged on *load s*, zone on ÷ off.
"""


def zone_section(doc: dict[str, Any]) -> str:
    """The processed-zone pairs, per file and engine, and their on ÷ off ratios."""
    runs = [r for r in doc["results"] if r["contender"] in ZONE_CONTENDERS.values()]
    if not runs:
        return ""
    lines = [
        ZONE_INTRO,
        "| data | engine | zone | wall s | load s | zone s | zone MB | files | Parquet rows | items verified "
        "| client CPU s | job peak RSS MB | load 1m before→after |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|---|",
    ]
    for r in runs:
        inner = r.get("inner") or {}
        zone = inner.get("zone") or {}
        verified = ("✅ " if r["verified"] else "❌ ") + _fmt(r["verified_count"])
        state = "on" if r.get("processed") else "off"
        master = (inner.get("spark") or {}).get("master")  # Spark's local[cores,retries]
        cells = [
            f"{r['dataset']} ({r['rows']:,}){_run_tag(r)}",
            " ".join(filter(None, (ENGINE_NAMES.get(r.get("engine", ""), r["label"]), master))),
            f"{state} (round {r['zone_round'] + 1})" if r.get("zone_round") else state,
            _fmt(r["wall_s"], ".1f"),
            _fmt(inner.get("load_s"), ".1f"),
            _fmt(zone.get("seconds"), ".1f"),
            _fmt(zone["bytes"] / 1e6 if zone.get("bytes") is not None else None, ".1f"),
            _fmt(zone.get("files"), "d"),
            _fmt(inner.get("parquet_rows_of_run") if r.get("processed") else None),
            verified,
            _fmt(r["client_cpu_s"], ".1f"),
            _fmt(inner.get("job_peak_rss_mb")),
            f"{r['load_before'][0]:.2f}→{r['load_after'][0]:.2f}",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    ratios = []
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        for engine, contender in ZONE_CONTENDERS.items():
            pairs = zone_pairs(runs, contender, dataset)
            ratio = zone_ratios(pairs)
            if ratio:
                ratios.append(
                    f"{ENGINE_NAMES[engine]} on {dataset}: **{ratio['load']:.2f}** "
                    f"(wall {ratio['wall']:.2f}, client CPU {ratio['cpu']:.2f}; {len(pairs)} pair(s))"
                )
    if ratios:
        lines.append("\nZone on ÷ off, load seconds: " + "; ".join(ratios) + ".")
    return "\n".join(lines) + "\n"


def targets_table(doc: dict[str, Any]) -> str:
    """Each target with its measured value, goal and verdict."""
    lines = ["| target | measured | goal | met | figures |", "|---|--:|---|---|---|"]
    for t in doc["targets"]:
        met = {True: "✅ met", False: "❌ missed", None: "— not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {_fmt(t['value'], ',.2f')} | {t['goal']} | {met} | {t['detail']} |")
    return "\n".join(lines) + "\n"


def crossover_section(doc: dict[str, Any]) -> str:
    """Import vs batch on the same slices of flights (bench/crossover.py): the figures the
    ``CSV2DDB_IMPORT_MIN_BYTES`` default is chosen from."""
    cross = doc.get("import_crossover")
    if not cross:
        return ""
    lines = [
        "\n### Import vs batch: where a first load starts to pay for ImportTable\n",
        "Slices of flights, each loaded into a new table of one emulator by our batch job (what "
        "`load_method auto` runs below `CSV2DDB_IMPORT_MIN_BYTES`) and by our import path (the job "
        "stages DynamoDB JSON, ImportTable, the reconciliation), one after the other, the order "
        "alternating; every table verified. Seconds are medians of the runs of each path; CPU is the "
        "client's plus the emulator's (both on the same 2 cores), which the machine's other work "
        "sways less than wall seconds. "
        f"The machine was shared: 1-minute load average {cross['load_average_start'][0]:.2f} at the "
        f"start, {cross['load_average_end'][0]:.2f} at the end (each run's own in the last column).\n",
        "| rows | MB | batch s | import s (staging + ImportTable) | import ÷ batch | CPU s batch / import "
        "| verified runs (batch + import) | load 1m |",
        "|--:|--:|--:|---|--:|--:|--:|---|",
    ]
    for p in cross["points"]:
        batch, imported = p["batch_s"], p["import_s"]
        ratio = imported / batch if batch and imported else None
        loads = ", ".join(f"{x:.1f}" for x in p["load_1m"])
        lines.append(
            f"| {p['rows']:,} | {p['bytes'] / 1e6:,.1f} | {_fmt(batch, '.1f')} | {_fmt(imported, '.1f')} "
            f"({_fmt(p['staging_s'], '.1f')} + {_fmt(p['import_table_s'], '.1f')}) | {_fmt(ratio, '.2f')} "
            f"| {_fmt(p.get('batch_cpu_s'), '.0f')} / {_fmt(p.get('import_cpu_s'), '.0f')} "
            f"| {p['verified']['batch']} + {p['verified']['import']} | {loads} |"
        )
    faster = cross.get("import_faster_from_rows")
    lines.append(
        f"\nIn wall seconds the import path was the faster from {faster:,} rows up here."
        if faster
        else "\nIn wall seconds the import path was not the faster at the biggest size here."
    )
    fit = cross.get("fit_cpu") or {}
    if fit.get("batch") and fit.get("import") and fit.get("staging"):
        lines.append(
            f"In CPU seconds (least squares, fixed + per MB × MB): batch {_line(fit['batch'])}; import "
            f"{_line(fit['import'])}, of which the staging job {_line(fit['staging'])}: "
            f"{_crossing_text(fit['batch'], fit['import'], 'costs less CPU')}."
        )
    aws = cross.get("aws")
    if aws:
        starts = " | ".join(f"{m} min" for m in aws["crossover_mb"])
        sizes = " | ".join(_fmt(mb, ",.0f") + " MB" if mb else "never" for mb in aws["crossover_mb"].values())
        lines += [
            "\nOn AWS an import has a start-up of minutes, and a batch load into a new on-demand table "
            f"goes at most {aws['writes_per_s']:,} writes/s ({cross['rows_per_mb']:,} flights rows per MB: "
            f"{aws['batch_per_mb_s']:.2f} s per MB). The import pays from the size where the batch "
            f"load's extra seconds per MB over the staging pass ({aws['staging_per_mb_s']:.2f} s per MB, "
            "its CPU above) have paid for the start-up (ImportTable's own time per MB left out):\n",
            f"| ImportTable start-up | {starts} |",
            "|---|" + "--:|" * len(aws["crossover_mb"]),
            f"| the import pays from | {sizes} |",
        ]
    default = cross.get("default_bytes")
    if default is not None:
        lines.append(
            f"\nThe stack's default `CSV2DDB_IMPORT_MIN_BYTES`: {default:,} bytes "
            f"({default / (1 << 20):,.0f} MiB); why, in "
            "[import.md](import.md#when-a-load-imports-load_method)."
        )
    return "\n".join(lines) + "\n"


def _line(fitted: dict[str, float]) -> str:
    return f"{fitted['fixed_s']:.1f} + {fitted['per_mb_s']:.2f} × MB"


def _crossing_text(batch: dict[str, float], imported: dict[str, float], better: str = "is the faster") -> str:
    """Which path the fitted lines (fixed + per MB x MB) say ``better``, and from what size."""
    mb = meet_at(batch, imported)
    if mb is None:
        dearer_start = imported["fixed_s"] - batch["fixed_s"]
        return f"the {'batch' if dearer_start > 0 else 'import'} path {better} at every size"
    if batch["per_mb_s"] > imported["per_mb_s"]:  # the import gains with size
        return (
            f"the import path {better} from about **{mb:,.1f} MB** up"
            if mb > 0
            else (f"the import path {better} at every size")
        )
    return f"the import path {better} only below {mb:,.1f} MB" if mb > 0 else f"the batch path {better}"
