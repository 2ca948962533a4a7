"""The Glue job's own pure row functions, imported from the load core (``csv2ddb_core``).

The ceiling pushes items built by exactly these functions (so its items are byte-for-byte the
loader's), the transform-only figure runs exactly this pipeline without writes, and the peers'
``id`` column holds the ids the loader derives. Nothing here re-implements the job's logic:
if the job changes, the benchmark follows.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from csv2ddb.bootstrap.wheel import sources_digest
from csv2ddb_core.contract import HASH_KEY
from csv2ddb_core.header import validate_header
from csv2ddb_core.keys import DedupeIndex
from csv2ddb_core.rows import RowBuilder
from csv2ddb_core.source import read_records, text_stream
from csv2ddb_dev.paths import REPO_ROOT

from bench.s3_inputs import source_uri

JOB_PATH = REPO_ROOT / "glue" / "csv2ddb_load_job.py"
SPARK_JOB_PATH = REPO_ROOT / "glue" / "csv2ddb_spark_job.py"
ENGINE_SCRIPTS = {"pythonshell": JOB_PATH, "spark": SPARK_JOB_PATH}  # the entry script per engine
ID_COLUMN = HASH_KEY
# What the job would stamp on items of a benchmark load (same lengths as the real run's values).
BENCH_RUN_ID = "bench-000000000000"
BENCH_TIMESTAMP = "2026-01-01T00:00:00.000000Z"
# The job's --type_map that writes every column as a string, as the peers do (like-for-like runs).
ALL_STRINGS = {"*": "S"}


def engine_argv(
    python: str, engine: str, bucket: str, key: str, table: str, run_id: str, spark_cores: int
) -> list[str]:
    """The command line Glue would run for ``engine``: its entry script, the source, the table and
    the run id (Spark: its local cores); callers add their own job arguments."""
    argv = [python, str(ENGINE_SCRIPTS[engine]), "--source_bucket", bucket, "--source_key", key]
    argv += ["--table", table, "--run_id", run_id]
    if engine == "spark":
        argv += ["--spark_local_cores", str(spark_cores)]
    return argv


def job_sha256() -> str:
    """What ran: the entry script and the load core's sources (the wheel's inputs)."""
    core = sources_digest(JOB_PATH.parent)
    return hashlib.sha256(JOB_PATH.read_bytes() + core.encode()).hexdigest()


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    raw = io.FileIO(path, "r")
    return read_records(text_stream(raw, "utf-8"), ",")


def _builder(header_row: list[str], source_file: str, type_map: dict[str, str] | None = None) -> Any:
    header = validate_header(header_row)  # the default key: a string `id` (hash of the row if absent)
    return RowBuilder(
        header,
        source_file=source_file,
        run_id=BENCH_RUN_ID,
        ingestion_timestamp=BENCH_TIMESTAMP,
        type_map=type_map,
    )


def pipeline(
    path: Path, source_file: str, type_map: dict[str, str] | None = None
) -> Iterator[tuple[str, Any]]:
    """("item", item) | ("reject", Reject) | ("duplicate", None) per data row, as the job does it:
    parse (csv), type and hash (``RowBuilder.build``), dedupe (``DedupeIndex``)."""
    records = _records(path)
    _line, header_row = next(records)
    build = _builder(header_row, source_file, type_map).build
    add_seen = DedupeIndex().add
    for _line_number, row in records:
        item, digest = build(row)
        if digest is None:
            yield "reject", item
        elif not add_seen(digest):
            yield "duplicate", None
        else:
            yield "item", item


def build_items(path: Path, type_map: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """The low-level DynamoDB items the loader would write for ``path`` (rejects/duplicates out),
    with the job's ``--type_map`` when given (``{"*": "S"}``: every column a string)."""
    for kind, value in pipeline(path, source_uri(path), type_map):
        if kind == "item":
            yield value


def transform(path: Path) -> dict[str, int]:
    """Run the whole row pipeline, build every PutRequest as the job does, send nothing."""
    counts = {"item": 0, "reject": 0, "duplicate": 0}
    for kind, value in pipeline(path, source_uri(path)):
        counts[kind] += 1
        if kind == "item":
            {"PutRequest": {"Item": value}}  # noqa: B018 (the job builds this wrapper per item)
    return {
        "rows_read": sum(counts.values()),
        "items": counts["item"],
        "rows_rejected": counts["reject"],
        "rows_duplicate": counts["duplicate"],
    }


def row_ids(header_row: list[str], rows: Iterable[list[str]]) -> list[str]:
    """The loader's id of every row, in order (for the peers' precomputed ``id`` column)."""
    build = _builder(header_row, "s3://unused/ids").build
    ids = []
    for number, row in enumerate(rows, start=2):
        item, digest = build(row)
        if digest is None:
            raise ValueError(
                f"line {number} would be rejected by the loader ({item.reason}): no id for the peers"
            )
        ids.append(item[ID_COLUMN]["S"])
    return ids
