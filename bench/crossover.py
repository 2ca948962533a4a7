"""Import vs batch on the same rows at a few sizes: where a first load starts to pay for ImportTable.

``load_method auto`` imports a first load into a new table only when the file is at least
``CSV2DDB_IMPORT_MIN_BYTES``; this measures what that threshold is chosen from. At each size (a
slice of the real flights file), on one emulator, one after the other:

- **batch**: our Glue job script writing the rows into a new table (``csv2ddb_job``, the path
  ``auto`` takes below the threshold);
- **import**: our import path (``csv2ddb_import``: the job stages gzip'd DynamoDB JSON, ImportTable
  creates the table, its counters reconciled with the manifest).

Both are the harness's own contenders (``bench.launch``), so each table is verified like every
other row of the page. The order alternates per size (and per repeat), so a drift in the shared
machine's load does not always favour the same path. Then the two wall times are fitted as
``seconds = fixed + per_MB × MB`` (least squares), and the fit is projected to AWS, where an import
has a start-up of minutes and a batch load into a new on-demand table is capped at its initial
throughput (``AWS_NEW_TABLE_WRITES_PER_S``).

Run alone (its own emulator; the page is then re-rendered with ``python -m bench.report``)::

    .venv-bench/bin/python -m bench.crossover [--rows 20000,50000,100000,200000] [--repeat 1]
    .venv-bench/bin/python -m bench.report docs/benchmarks.json .cache/bench/crossover-<stamp>.json

``--records .cache/bench/run-<stamp>/crossover/records.jsonl`` summarizes the runs a run left (one
cut short, say) without loading anything.

``python -m bench.run`` runs it too (contender ``import_crossover``), on the run's emulator.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from csv2ddb.load_defaults import IMPORT_MIN_BYTES
from csv2ddb_dev.emulator import start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench import data, facts, launch
from bench.fitted_lines import fit, meet_at
from bench.harness import Harness, on_emulator, prepare_dataset
from bench.measure import load_average

SIZES = (20_000, 50_000, 100_000, 200_000)
BATCH, IMPORT = "batch", "import"
MB = 1_000_000
# AWS documents that a new on-demand table sustains up to 4,000 writes per second at first
# ("Pre-warming a table for on-demand capacity mode", DynamoDB developer guide): the fastest a
# batch load into a table it has just created can go on AWS, whatever the client does.
AWS_NEW_TABLE_WRITES_PER_S = 4_000
# ImportTable's start-up on AWS: "minutes, even for a small file" (docs/import.md). Not measurable
# on the emulator (it starts an import at once), so the projection is given for a range of them.
AWS_IMPORT_STARTUP_MINUTES = (1, 2, 3, 5)


def measure(harness: Harness, sizes: tuple[int, ...] = SIZES, repeat: int = 1) -> dict[str, Any]:
    """Both paths at every size on the harness's emulator; the points, the fits, the projection,
    and every run. The runs are kept here, not among the page's loader records (a harness of its
    own on the same emulator and bucket): they are slices, not the file the page compares."""
    own = Harness(harness.server_pid, harness.env, harness.run_dir / "crossover")
    for i, rows in enumerate(sizes):
        dataset = prepare_dataset(f"flights-{rows}", data.flights_csv(rows), own, True)
        for r in range(repeat):
            for path in (BATCH, IMPORT) if (i + r) % 2 == 0 else (IMPORT, BATCH):
                run_path(own, dataset, path)
    return from_records(own.results)


def from_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The measurement from its runs' records (a finished run's, or the ``records.jsonl`` of one cut
    short): a point per size, the fits, the projection, every run kept."""
    points = []
    for rows in sorted({r["rows"] for r in records}):
        same = [r for r in records if r["rows"] == rows]
        dataset = {"rows": rows, "bytes": data.flights_csv(rows).stat().st_size}
        points.append(
            point(dataset, [r for r in same if _path(r) == BATCH], [r for r in same if _path(r) == IMPORT])
        )
    result = summarize(points, records[0]["load_before"], records[-1]["load_after"])
    result["runs"] = [kept(r) for r in records]
    return result


def _path(record: dict[str, Any]) -> str:
    return IMPORT if record["contender"] == "csv2ddb_import" else BATCH


def kept(record: dict[str, Any]) -> dict[str, Any]:
    """What the page's JSON keeps of one run (the full records are in the run's records.jsonl)."""
    inner = record.get("inner") or {}
    return {
        "path": _path(record),
        "dataset": record["dataset"],
        "rows": record["rows"],
        "wall_s": record["wall_s"],
        "staging_s": inner.get("staging_s"),
        "import_s": inner.get("import_s"),
        "client_cpu_s": record["client_cpu_s"],
        "emulator_cpu_s": record["emulator_cpu_s"],
        "verified": record["verified"],
        "load_1m": [record["load_before"][0], record["load_after"][0]],
    }


def run_path(harness: Harness, dataset: dict[str, Any], path: str) -> dict[str, Any]:
    """One load of ``dataset`` by ``path`` into a new table, as the harness records every contender."""
    if path == BATCH:
        return launch.glue_job(harness, dataset, launch.JOB_DEFAULT_CONCURRENCY)
    return launch.csv2ddb_import(harness, dataset)


def _verified(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["ok"] and r["verified"]]


def point(
    dataset: dict[str, Any], batch: list[dict[str, Any]], imported: list[dict[str, Any]]
) -> dict[str, Any]:
    """One size: the median wall seconds of each path (verified runs only), and the import's parts."""
    good_batch, good_import = _verified(batch), _verified(imported)
    inner = [r["inner"] for r in good_import]
    return {
        "rows": dataset["rows"],
        "bytes": dataset["bytes"],
        "batch_s": _median([r["wall_s"] for r in good_batch]),
        "import_s": _median([r["wall_s"] for r in good_import]),
        "staging_s": _median([i["staging_s"] for i in inner]),
        "import_table_s": _median([i["import_s"] for i in inner]),
        "staging_cpu_s": _median([i["staging_cpu_s"] for i in inner]),
        # CPU seconds, client + emulator: what each path costs the 2 cores, less swayed by the
        # other work on a shared machine than wall seconds are.
        "batch_cpu_s": _median([r["client_cpu_s"] + r["emulator_cpu_s"] for r in good_batch]),
        "import_cpu_s": _median([r["client_cpu_s"] + r["emulator_cpu_s"] for r in good_import]),
        "runs": {"batch": len(batch), "import": len(imported)},
        "verified": {"batch": len(good_batch), "import": len(good_import)},
        "load_1m": [r["load_before"][0] for r in batch + imported],
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def summarize(
    points: list[dict[str, Any]], load_start: Sequence[float], load_end: Sequence[float]
) -> dict[str, Any]:
    """The points; the smallest size from which the import was the faster here (wall seconds);
    each path's CPU seconds fitted as ``fixed + per MB × MB`` and where those lines cross (CPU, not
    wall: on a shared machine the other work sways wall seconds far more, and the emulator is
    CPU-bound); the AWS projection, from the staging pass's CPU per MB (a single-threaded pass: the
    seconds it would take on a core of its own)."""
    both = [p for p in points if p["batch_s"] is not None and p["import_s"] is not None]
    mbs = [p["bytes"] / MB for p in both]
    batch = fit(mbs, [p["batch_cpu_s"] for p in both])
    imported = fit(mbs, [p["import_cpu_s"] for p in both])
    staging = fit(mbs, [p["staging_cpu_s"] for p in both])
    rows_per_mb = sum(p["rows"] for p in both) / sum(mbs) if both else None
    return {
        "ok": bool(both) and len(both) == len(points),
        "sizes": [p["rows"] for p in points],
        "points": points,
        "import_faster_from_rows": faster_from(both),
        "fit_cpu": {"batch": batch, "import": imported, "staging": staging},
        "crossover_mb_cpu": crossing(batch, imported),
        "rows_per_mb": round(rows_per_mb) if rows_per_mb else None,
        "aws": aws_projection(rows_per_mb, staging),
        "default_bytes": IMPORT_MIN_BYTES,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
    }


def faster_from(points: list[dict[str, Any]]) -> int | None:
    """The smallest size (rows) from which the import's median wall seconds were at most the batch
    load's at that size and at every bigger one; None when it was not so at the biggest."""
    found = None
    for p in sorted(points, key=lambda p: p["rows"], reverse=True):
        if p["import_s"] > p["batch_s"]:
            break
        found = p["rows"]
    return found


def crossing(batch: dict[str, float] | None, imported: dict[str, float] | None) -> float | None:
    """The file size (MB) above which the import path's fitted time is below the batch path's;
    None when the lines do not cross above zero (one path is faster at every size)."""
    if not batch or not imported or batch["per_mb_s"] <= imported["per_mb_s"]:
        return None
    mb = meet_at(batch, imported)
    return round(mb, 1) if mb is not None and mb > 0 else None


def aws_projection(rows_per_mb: float | None, staging: dict[str, float] | None) -> dict[str, Any] | None:
    """Where an import pays on AWS, for each start-up in ``AWS_IMPORT_STARTUP_MINUTES``: a batch
    load into a new on-demand table at its initial throughput at best, against the import's start-up
    plus our staging pass (``staging``: its seconds per MB as measured here). ImportTable's own
    per-item time on AWS is not known and is left out, which favours the import: these are the
    smallest sizes at which it can pay."""
    if not rows_per_mb or not staging:
        return None
    batch_per_mb = rows_per_mb / AWS_NEW_TABLE_WRITES_PER_S
    gain = batch_per_mb - staging["per_mb_s"]
    return {
        "writes_per_s": AWS_NEW_TABLE_WRITES_PER_S,
        "batch_per_mb_s": round(batch_per_mb, 3),
        "staging_per_mb_s": staging["per_mb_s"],
        "crossover_mb": {
            str(minutes): round(minutes * 60 / gain, 1) if gain > 0 else None
            for minutes in AWS_IMPORT_STARTUP_MINUTES
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the measurement on its own emulator and write ``.cache/bench/crossover-<stamp>.json``,
    a results document ``python -m bench.report`` merges into the page."""
    parser = argparse.ArgumentParser(prog="python -m bench.crossover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(map(str, SIZES)), help="flights slices, comma list")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each path per size")
    parser.add_argument(
        "--records", type=Path, help="no runs: summarize a run's records.jsonl (e.g. of a run cut short)"
    )
    args = parser.parse_args(argv)
    sizes = tuple(int(n) for n in args.rows.split(",") if n)
    stamp = datetime.now(UTC).strftime(data.RUN_STAMP)
    doc: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": f"import crossover ({', '.join(f'{n:,}' for n in sizes)} rows, repeat {args.repeat})",
        "machine": facts.machine_facts(),
        "versions": facts.versions(),
        "job": facts.job_facts(),
        "load_average_start": [round(x, 2) for x in load_average()],
        "datasets": [],
        "results": [],
    }
    if args.records:
        records = [json.loads(line) for line in args.records.read_text().splitlines() if line.strip()]
        run = next(p.name for p in args.records.parents if p.name.startswith(data.RUN_PREFIX))
        stamp = run.removeprefix(data.RUN_PREFIX)
        started = datetime.strptime(stamp, data.RUN_STAMP).replace(tzinfo=UTC)
        doc["import_crossover"] = from_records(records)
        doc.update(
            started_at=started.isoformat(timespec="seconds"),
            mode=f"import crossover, summarized from {run}'s records ({len(records)} runs)",
            load_average_start=records[0]["load_before"],
        )
        doc["load_average_end"] = records[-1]["load_after"]
    else:
        run_dir = data.CACHE_DIR / f"{data.RUN_PREFIX}{stamp}"
        run_dir.mkdir(parents=True, exist_ok=True)
        emulator = start_emulator(run_dir / "emulator")
        try:
            doc["import_crossover"] = measure(on_emulator(emulator, run_dir), sizes, args.repeat)
        finally:
            emulator.stop()
        doc["load_average_end"] = [round(x, 2) for x in load_average()]
    doc["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = data.CACHE_DIR / f"crossover-{stamp}.json"
    out.write_text(json.dumps(doc, indent=2, default=str))
    print(json.dumps(doc["import_crossover"], indent=2))
    print(f"[bench] crossover: {out.relative_to(REPO_ROOT)}")
    return 0 if doc["import_crossover"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
