"""The processed zone: a load's items as typed Parquet under one date-partitioned prefix, and its
rejects likewise, so SQL (Athena) can answer what DynamoDB cannot without a full scan.

Layout (one definition; the DAG side's catalog and queries import these names)::

    <processed_prefix><table>/load_date=YYYY-MM-DD/<run_id>/part-NNNNN.parquet
    <rejected_prefix>parquet/dataset=<table>/load_date=YYYY-MM-DD/<run_id>/rejects.parquet

What is written: the items DynamoDB *confirmed* (both engines tee the key list, which every
writer fills with exactly the confirmed items: the Python shell's for the whole load, each Spark
write task's for its split), so the zone's row count for a run equals the manifest's
``rows_written``; never a re-read of the table. Every row carries the item's
attributes as columns, ``load_run_id`` among them.

Column types, a declared rule (items are typed per cell, Parquet per column): only ``S`` ->
string, only ``N`` -> int64 when every value is an integer that fits, else double; only ``BOOL``
-> boolean; only ``B`` -> binary; ``NULL`` cells are nulls of any type; a column whose cells mix
kinds (``auto`` typing: ``"12"`` and ``"n/a"``) becomes a string column holding each cell's text,
and the manifest's ``processed.coerced`` names it. Across parts of one load the same rule widens
(int64 + double -> double, anything else mixed -> string).

Off by default in the core (``--processed false``): a load without the argument behaves as
before, and nothing imports pyarrow. The DAG turns it on. pyarrow is imported lazily, only when
the zone is on (Glue Python shell: the ``analytics`` library set; Spark: Glue 5.0 ships it).
A failure here never fails the DynamoDB load: it is reported as ``processed.error`` in the
manifest, and the DAG's analytics step fails and alerts on it.

Python 3.9, standard library + boto3 (+ pyarrow when on).
"""

from __future__ import annotations

import array
import base64
import json
import logging
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from csv2ddb_core.contract import ArgumentError, JobArgs
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.listing import Listed
from csv2ddb_core.uploads import put_file

LOG = logging.getLogger("csv2ddb.load")

PROCESSED_PREFIX = "processed/"
REJECTS_DIR = "parquet/"  # under the rejected prefix, beside the per-run rejects.csv folders
LOAD_DATE = "load_date"  # the partition key of every processed table
DATASET = "dataset"  # the rejects table's first partition key: the DynamoDB table loaded
PART_ROWS = 16384  # items buffered per row group: ~100 MB of item dicts at flights' width
REJECT_COLUMNS = ("line_number", "reason", "detail", "raw_row")
# Parquet (arrow) type -> Athena / Glue Data Catalog type.
ATHENA_TYPES = {
    "null": "string",
    "int64": "bigint",
    "double": "double",
    "bool": "boolean",
    "string": "string",
    "binary": "binary",
}
PROCESSED_OPTIONS = {"processed": "false", "processed_prefix": PROCESSED_PREFIX}
PARQUET_TYPE = "application/vnd.apache.parquet"


# --- layout and options (stdlib only) -----------------------------------------------------------


@dataclass(frozen=True)
class ProcessedOptions:
    """The zone's switch and prefix for one load (job arguments ``--processed``, ``--processed_prefix``)."""

    enabled: bool = False
    prefix: str = PROCESSED_PREFIX


def parse_processed_options(values: Mapping[str, str]) -> ProcessedOptions:
    """Validate the two job arguments; a clear error for anything but true/false and ``name/``."""
    raw = (values.get("processed") or "false").strip().lower()
    if raw not in ("true", "false", "on", "off", "1", "0"):
        raise ArgumentError(f"--processed must be true or false, got {values.get('processed')!r}")
    prefix = (values.get("processed_prefix") or PROCESSED_PREFIX).strip().lstrip("/")
    if not prefix.endswith("/"):
        prefix += "/"
    if prefix == "/" or ".." in prefix.split("/"):
        raise ArgumentError(
            f"--processed_prefix must look like 'name/', got {values.get('processed_prefix')!r}"
        )
    return ProcessedOptions(raw in ("true", "on", "1"), prefix)


def load_date(timestamp: str) -> str:
    """``YYYY-MM-DD`` of an ISO timestamp (the load's ingestion timestamp, UTC)."""
    return timestamp[:10]


def items_prefix(prefix: str, table: str, date: str, run_id: str) -> str:
    """Where one load's item parts go: ``<prefix><table>/load_date=<date>/<run_id>/``."""
    return f"{date_prefix(prefix, table, date)}{run_id}/"


def date_prefix(prefix: str, table: str, date: str) -> str:
    """Where every load of one table and day puts its items: ``<prefix><table>/load_date=<date>/``."""
    return f"{prefix}{table}/{LOAD_DATE}={date}/"


def table_root(prefix: str, table: str) -> str:
    """The location of a table's processed data (the catalog table's LOCATION)."""
    return f"{prefix}{table}/"


def rejects_root(rejected_prefix: str) -> str:
    """The location of every dataset's rejects as Parquet (the rejects table's LOCATION)."""
    return f"{rejected_prefix}{REJECTS_DIR}"


def rejects_key(rejected_prefix: str, table: str, date: str, run_id: str) -> str:
    return f"{rejects_root(rejected_prefix)}{DATASET}={table}/{LOAD_DATE}={date}/{run_id}/rejects.parquet"


# --- items to columns (pyarrow, imported lazily) ------------------------------------------------


def _pa() -> Any:
    import pyarrow  # lazily: the core runs without pyarrow while the zone is off

    return pyarrow


def column_array(name: str, cells: Any, notes: Dict[str, str]) -> Any:
    """One column (a struct array: one child per DynamoDB kind, null where a cell is of another
    kind or the attribute is absent) as one typed arrow array, by the zone's column rule."""
    pa = _pa()
    import pyarrow.compute as pc  # lazily, see _pa

    kinds = {f.name: child for f, child in zip(cells.type, cells.flatten())}
    kinds.pop("NULL", None)  # a NULL cell is a null of whatever type the column gets
    present = {kind: values for kind, values in kinds.items() if values.null_count < len(values)}
    if not present:
        return pa.nulls(len(cells))
    if len(present) == 1:
        kind, values = next(iter(present.items()))
        if kind == "S":
            return values
        if kind == "N":
            try:
                return values.cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return values.cast(pa.float64())
        if kind == "BOOL":
            return values
        if kind == "B":
            decoded = [base64.b64decode(v) if v is not None else None for v in values.to_pylist()]
            return pa.array(decoded, pa.binary())
    notes[name] = f"cells of kinds {','.join(sorted(present))}: stored as string"
    texts = [
        values if pa.types.is_string(values.type) else values.cast(pa.string()) for values in present.values()
    ]
    return texts[0] if len(texts) == 1 else pc.coalesce(*texts)


def items_table(items: Sequence[Mapping[str, Any]], notes: Dict[str, str]) -> Any:
    """Items -> an arrow table, columns in order of first appearance.

    The conversion is one C++ call (``pa.array`` of the item dicts gives a struct per attribute,
    a child per kind), not a Python loop per cell: flights' 336,776 rows x 23 columns cost about
    a third of the per-cell version's CPU.
    """
    pa = _pa()
    if not items:
        return pa.table({})
    return rows_table(item_rows(items), notes)


def rows_table(rows: Any, notes: Dict[str, str]) -> Any:
    """The struct array of ``item_rows`` -> an arrow table, one column per attribute, typed by the
    column rule."""
    names = [f.name for f in rows.type]
    return _pa().Table.from_arrays(
        [column_array(n, c, notes) for n, c in zip(names, rows.flatten())], names=names
    )


def item_rows(items: Sequence[Mapping[str, Any]], hint: Any = None) -> Any:
    """``pa.array`` of the item dicts, given ``hint`` (an earlier chunk's struct type) when it
    holds every attribute and every kind of these items; else with the type inferred.

    Why: inferring the type is more than half of the conversion's CPU (flights: 0.8 s of CPU per
    100 k items with the type given, against 1.7 s inferred). Given a type, pyarrow silently drops
    the attributes and kinds it lacks, so the hint is kept only when every attribute name of the
    chunk is one of its fields and no present cell came out with all its kinds null (each
    DynamoDB value has exactly one kind); otherwise, or when a value does not convert, the chunk is
    inferred as before. Either way the table is the same (tests/analytics/test_processed_columns).
    """
    pa = _pa()
    rows = json_rows(items, hint)
    if rows is not None:
        return rows
    if hint is not None and set().union(*items) <= {f.name for f in hint}:
        try:
            rows = pa.array(items, type=hint)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            rows = None
        if rows is not None and not any(_kind_lost(cells) for cells in rows.flatten()):
            return rows
    return pa.array(items)


# The arrow type of each scalar DynamoDB kind, as ``pa.array`` infers it from the item's values.
SCALAR_KINDS = {"S": "string", "N": "string", "B": "string", "BOOL": "bool", "NULL": "bool"}


def json_rows(items: Sequence[Mapping[str, Any]], hint: Any = None) -> Any:
    """The items as ``item_rows`` makes them, read by pyarrow's JSON reader from their JSON text with
    an explicit type (``hint`` when it holds every attribute and kind, else the chunk's own, found
    here); None when an item has a kind that is not a scalar (lists, maps, sets) or its text does
    not read as that type: ``pa.array`` then converts the chunk.

    Why: ``pa.array`` (like every pyarrow entry converting Python objects: ``scalar``,
    ``infer_type``) first asks pandas whether its argument is a pandas object, importing pandas
    where it is installed (the Airflow worker, Glue's analytics library set): about a CPU-second a
    process, in every inline group's task and every Glue run. The JSON reader is C++ end to end; the
    built items carry their JSON text already (``rows.Item.json``), and an explicit type keeps it
    from guessing (unguided, it reads ISO-looking strings as timestamps)."""
    pa = _pa()
    import pyarrow.json as pj  # lazily, see _pa

    try:
        body = "\n".join(_json_text(item) for item in items).encode("utf-8")
    except (TypeError, ValueError):  # a value JSON cannot carry, text UTF-8 cannot (lone surrogates)
        return None
    tried = []
    if hint is not None and set().union(*items) <= {f.name for f in hint}:
        tried.append(hint)
    for struct in (*tried, None):
        struct = struct if struct is not None else items_type(items)
        if struct is None:
            return None
        options = pj.ParseOptions(explicit_schema=pa.schema(list(struct)), unexpected_field_behavior="error")
        try:
            table = pj.read_json(
                pa.BufferReader(body),
                read_options=pj.ReadOptions(use_threads=False, block_size=max(len(body), 1)),
                parse_options=options,
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            continue  # the hint lacks a kind, or a value is not of its kind: the chunk's own type
        if table.num_rows != len(items):
            return None
        columns = [table.column(f.name).combine_chunks() for f in struct]
        return pa.StructArray.from_arrays(columns, fields=list(struct))
    return None


def _json_text(item: Mapping[str, Any]) -> str:
    """The item's JSON text: the one its builder made (``rows.Item``), else encoded here."""
    text = getattr(item, "json", None)
    return text if isinstance(text, str) else json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def items_type(items: Sequence[Mapping[str, Any]]) -> Any:
    """The struct type ``pa.array`` infers for these items (attributes, and kinds within each, in
    order of first appearance), or None when a value is not one scalar kind."""
    pa = _pa()
    kinds: Dict[str, Dict[str, Any]] = {}
    arrow = {"string": pa.string(), "bool": pa.bool_()}
    for item in items:
        for name, value in item.items():
            seen = kinds.get(name)
            if seen is None:
                seen = kinds[name] = {}
            if not isinstance(value, dict) or len(value) != 1:
                return None
            for kind in value:
                if kind not in seen:
                    if kind not in SCALAR_KINDS:
                        return None
                    seen[kind] = arrow[SCALAR_KINDS[kind]]
    return pa.struct(
        [pa.field(n, pa.struct([pa.field(k, t) for k, t in ks.items()])) for n, ks in kinds.items()]
    )


def _kind_lost(cells: Any) -> bool:
    """Whether a column has a present cell whose every kind is null: a kind the type lacked."""
    import pyarrow.compute as pc  # lazily, see _pa

    kinds = cells.flatten()
    if not kinds:
        return cells.null_count < len(cells)
    seen = kinds[0].is_valid()
    for kind in kinds[1:]:
        seen = pc.or_(seen, kind.is_valid())
    return bool(pc.any(pc.and_(cells.is_valid(), pc.invert(seen))).as_py())


def merge_hint(hint: Any, rows_type: Any) -> Any:
    """The struct type holding both: ``hint``'s attributes and kinds, then those ``rows_type`` adds
    (so a chunk that lacks an optional attribute does not make the next chunk infer again). None
    (no hint) when a kind holds nested values: a dropped nested field would go unnoticed."""
    pa = _pa()
    if any(pa.types.is_nested(kind.type) for f in rows_type for kind in f.type):
        return None
    if hint is None:
        return rows_type
    fields = {f.name: f.type for f in hint}
    for f in rows_type:
        kinds = {k.name: k.type for k in fields.get(f.name, ())}
        for kind in f.type:
            kinds.setdefault(kind.name, kind.type)
        fields[f.name] = pa.struct([pa.field(n, t) for n, t in kinds.items()])
    return pa.struct([pa.field(n, t) for n, t in fields.items()])


def _type_name(arrow_type: Any) -> str:
    pa = _pa()
    for name, check in (
        ("null", pa.types.is_null),
        ("int64", pa.types.is_int64),
        ("double", pa.types.is_float64),
        ("bool", pa.types.is_boolean),
        ("string", pa.types.is_string),
        ("binary", pa.types.is_binary),
    ):
        if check(arrow_type):
            return name
    raise ValueError(f"unexpected arrow type {arrow_type}")


def _wider(a: str, b: str) -> str:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if {a, b} == {"int64", "double"}:
        return "double"
    return "string"


def unify(schemas: Iterable[Any], notes: Dict[str, str]) -> Any:
    """One schema for every part: columns in first-seen order, types widened by the zone's rule."""
    pa = _pa()
    types: Dict[str, str] = {}
    for schema in schemas:
        for f in schema:
            have, got = types.get(f.name), _type_name(f.type)
            wide = got if have is None else _wider(have, got)
            if have is not None and wide == "string" and have != got and "null" not in (have, got):
                notes.setdefault(f.name, f"{have} in one part, {got} in another: stored as string")
            types[f.name] = wide
    arrow = {
        "null": pa.null(),
        "int64": pa.int64(),
        "double": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "binary": pa.binary(),
    }
    return pa.schema([pa.field(n, arrow[t]) for n, t in types.items()])


def conform(table: Any, schema: Any) -> Any:
    """``table`` with exactly ``schema``'s columns: missing ones null, others cast (widened)."""
    pa = _pa()
    arrays = []
    for f in schema:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, f.type))
            continue
        column = table.column(f.name)
        if column.type.equals(f.type):
            arrays.append(column)
        elif pa.types.is_binary(column.type) and pa.types.is_string(f.type):
            values = column.to_pylist()
            arrays.append(pa.array([base64.b64encode(v).decode() if v is not None else None for v in values]))
        else:
            arrays.append(column.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def catalog_columns(schema: Any) -> List[Tuple[str, str]]:
    """``(name, Athena type)`` of each column: what the catalog table and the manifest record."""
    return [(f.name, ATHENA_TYPES[_type_name(f.type)]) for f in schema]


# --- local part files, then S3 ------------------------------------------------------------------


@dataclass
class LocalPart:
    path: str
    rows: int
    schema: Any


class ParquetParts:
    """Items to local Parquet files, ``PART_ROWS`` a row group, one file until a row group's types
    do not fit it (then the next file starts with the wider schema).

    ``add`` (from any writer thread) only appends to a buffer; full chunks go to ONE converter
    thread through a queue of two. Converting a chunk takes a fraction of a second: done under the
    writers' lock it stopped every writer thread meanwhile (no DynamoDB request in flight); on its
    own thread the writers go on, and the bounded queue keeps memory flat (backpressure).
    ``seconds`` is the converter thread's CPU time (``close`` converts the rest in the caller).
    """

    def __init__(self, stem: str = "part", part_rows: int = PART_ROWS, type_hints: bool = True) -> None:
        self._dir = tempfile.mkdtemp(prefix="csv2ddb-processed-")
        self._stem = stem
        self._part_rows = part_rows
        self._type_hints = type_hints  # False: infer every chunk's type (the tests' reference)
        self._hint: Any = None  # the struct type of the chunks so far (``item_rows``)
        self._buffer: List[Mapping[str, Any]] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[Optional[List[Mapping[str, Any]]]] = queue.Queue(maxsize=2)
        self._thread: Optional[threading.Thread] = None
        self._writer: Any = None
        self._current: Optional[LocalPart] = None
        self.error: Optional[BaseException] = None
        self.parts: List[LocalPart] = []
        self.notes: Dict[str, str] = {}
        self.rows = 0
        self.seconds = 0.0

    def add(self, items: Sequence[Mapping[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        chunk: Optional[List[Mapping[str, Any]]] = None
        with self._lock:
            self._buffer.extend(items)
            if len(self._buffer) >= self._part_rows:
                chunk, self._buffer = self._buffer, []
                if self._thread is None:
                    self._thread = threading.Thread(target=self._convert, name="processed-zone", daemon=True)
                    self._thread.start()
        if chunk is not None:
            self._queue.put(chunk)

    def _convert(self) -> None:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            if self.error is not None:
                continue  # failed: drain, so that writers never block on a full queue
            began = time.thread_time()  # this thread's CPU: its wall time is mostly waiting for the GIL
            try:
                self._write(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to add()/close(), which report it
                self.error = exc
            finally:
                self.seconds += time.thread_time() - began

    def _write(self, chunk: Sequence[Mapping[str, Any]]) -> None:
        import pyarrow.parquet as pq  # lazily, see _pa

        rows = item_rows(chunk, self._hint)
        if self._type_hints:
            self._hint = merge_hint(self._hint, rows.type)
        table = rows_table(rows, self.notes)
        current = self._current
        if current is not None:
            wide = unify([current.schema, table.schema], self.notes)
            if wide.equals(current.schema):
                self._writer.write_table(conform(table, wide))
                current.rows += table.num_rows
                self.rows += table.num_rows
                return
            self._writer.close()
            table = conform(table, wide)
        path = os.path.join(self._dir, f"{self._stem}-{len(self.parts):05d}.parquet")
        self._writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        self._writer.write_table(table)
        self._current = LocalPart(path, table.num_rows, table.schema)
        self.parts.append(self._current)
        self.rows += table.num_rows

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> List[LocalPart]:
        """Convert what is buffered, close the open file; the parts, in order (or the error)."""
        with self._lock:
            rest, self._buffer = self._buffer, []
        self._stop()
        if self.error is not None:
            raise self.error
        if rest:
            self._write(rest)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.parts

    def discard(self) -> None:
        self.error = self.error or RuntimeError("discarded")
        self._stop()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self._dir, ignore_errors=True)


def conform_file(path: str, schema: Any) -> None:
    """Rewrite one part with the load's unified schema (only parts whose types were widened)."""
    import pyarrow.parquet as pq

    table = conform(pq.read_table(path), schema)
    pq.write_table(table, path, compression="snappy")


# What a group's one LIST found under its files' processed prefixes (``csv2ddb_core.group`` sets it
# for the group's loads): a file whose prefix it covers and finds empty needs no LIST of its own.
GROUP_LISTING: ContextVar[Optional[Listed]] = ContextVar("csv2ddb_processed_listing", default=None)


def clear_prefix(s3: Any, bucket: str, prefix: str) -> None:
    """Delete what an earlier attempt of the same run left under its prefix (a retried load).

    Nothing to ask when the group's listing (``GROUP_LISTING``) covers the prefix and found nothing
    there: a first attempt, nearly always. Else one LIST per 1,000 keys, without a paginator (made per
    call, it cost more CPU than the LIST it sent)."""
    listed = GROUP_LISTING.get()
    if listed is not None and listed.covers(bucket, prefix) and not listed.holds(prefix):
        return
    request = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**request)
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        request["ContinuationToken"] = token


def upload_parts(s3: Any, bucket: str, prefix: str, parts: Sequence[LocalPart]) -> Tuple[int, List[str]]:
    """Upload every part under ``prefix`` (cleared first); (bytes, keys)."""
    clear_prefix(s3, bucket, prefix)
    total, keys = 0, []
    for index, part in enumerate(parts):
        key = f"{prefix}part-{index:05d}.parquet"
        total += os.path.getsize(part.path)
        put_file(s3, part.path, bucket, key, PARQUET_TYPE)
        keys.append(key)
    return total, keys


def finish_parts(
    s3: Any, bucket: str, prefix: str, parts: Sequence[LocalPart], notes: Dict[str, str]
) -> Dict[str, Any]:
    """Unify the parts' schemas, rewrite the parts that differ, upload; the manifest's figures."""
    schema = unify([p.schema for p in parts], notes)
    for part in parts:
        if not part.schema.equals(schema):
            conform_file(part.path, schema)
    size, keys = upload_parts(s3, bucket, prefix, parts)
    return {
        "location": f"s3://{bucket}/{prefix}",
        "rows": sum(p.rows for p in parts),
        "bytes": size,
        "files": len(keys),
        "columns": catalog_columns(schema),
        "coerced": dict(notes),
    }


# --- rejects ------------------------------------------------------------------------------------


def constant_text(text: str, rows: int) -> Any:
    """A string column of ``rows`` times ``text``, built from its buffers: ``pa.array`` would import
    pandas for it (``json_rows`` says why that is avoided)."""
    pa = _pa()
    data = text.encode("utf-8")
    if len(data) * rows >= 2**31 or sys.byteorder != "little":  # beyond int32 offsets, or not arrow's order
        return pa.array([text] * rows, pa.string())
    offsets = (
        array.array("i", range(0, len(data) * rows + 1, len(data)))
        if data
        else array.array("i", [0] * (rows + 1))
    )
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data * rows)])


def rejects_parquet(s3: Any, args: JobArgs, date: str) -> Optional[Dict[str, Any]]:
    """The load's ``rejects.csv`` (written by every engine at ``args.rejects_key``) as Parquet with
    the run id and source file on every row; None when the load rejected nothing."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    pa = _pa()
    try:
        body = s3.get_object(Bucket=args.manifest_bucket, Key=args.rejects_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    table = pcsv.read_csv(
        pa.BufferReader(body),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types={"line_number": pa.int64(), **{c: pa.string() for c in REJECT_COLUMNS[1:]}},
            strings_can_be_null=False,
        ),
    )
    rows = table.num_rows
    table = table.append_column("load_run_id", constant_text(args.run_id, rows))
    table = table.append_column("source_file", constant_text(args.source_uri, rows))
    key = rejects_key(args.rejected_prefix, args.table, date, args.run_id)
    with tempfile.TemporaryDirectory(prefix="csv2ddb-rejects-") as tmp:
        path = os.path.join(tmp, "rejects.parquet")
        pq.write_table(table, path, compression="snappy")
        size = os.path.getsize(path)
        put_file(s3, path, args.manifest_bucket, key, PARQUET_TYPE)
    return {"location": f"s3://{args.manifest_bucket}/{key}", "rows": rows, "bytes": size}


# --- the Python shell's hook: a key list that also writes the processed zone --------------------


@dataclass
class ProcessedZone:
    """One load's processed zone: where it goes and what it wrote (the manifest's ``processed``)."""

    args: JobArgs
    options: ProcessedOptions
    date: str
    error: Optional[str] = None
    seconds: float = 0.0
    fields: Dict[str, Any] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return items_prefix(self.options.prefix, self.args.table, self.date, self.args.run_id)

    def finish(self, s3: Any, parts: Optional[ParquetParts], rejected: int) -> Dict[str, Any]:
        """Upload items and rejects; the manifest's ``processed`` (with ``error`` if it failed)."""
        began = time.monotonic()
        out: Dict[str, Any] = {"load_date": self.date, "error": self.error}
        try:
            if self.error is None and parts is not None:
                out.update(
                    finish_parts(s3, self.args.manifest_bucket, self.prefix, parts.close(), parts.notes)
                )
            if self.error is None and rejected:
                out["rejects"] = rejects_parquet(s3, self.args, self.date)
        except Exception as exc:  # the zone never fails the table load: reported instead
            LOG.exception("the processed zone could not be written")
            out["error"] = f"the processed zone could not be written: {type(exc).__name__}: {exc}"
        finally:
            if parts is not None:
                parts.discard()
        # The converter thread's CPU during the load, then this (the rest, the uploads, rejects).
        self.seconds = (parts.seconds if parts is not None else 0.0) + time.monotonic() - began
        out["seconds"] = round(self.seconds, 3)
        return out


class TeedKeyList(KeyListWriter):
    """A key list whose every confirmed batch also goes to Parquet parts (both engines' zone).

    A tee of the key list, because the key list is where every writer hands exactly the items
    DynamoDB confirmed: the parts then hold ``rows_written`` rows, whatever the write mode. An error
    in the parts stops them (``error``), never the load: it goes on from a writer thread.
    """

    def __init__(self, key_names: Sequence[str], stem: str = "part") -> None:
        super().__init__(key_names)
        self.parts: Optional[ParquetParts] = ParquetParts(stem=stem)
        self._stopped: Optional[ParquetParts] = None
        self.error: Optional[str] = None

    def add(self, items: Sequence[Mapping[str, Any]]) -> None:
        super().add(items)
        parts = self.parts
        if parts is None or not items:
            return
        try:
            parts.add(items)
        except Exception as exc:  # a writer thread: the load goes on, the zone reports
            if self.error is None:
                LOG.exception("the processed zone stopped")
                self.error = f"the processed zone stopped: {type(exc).__name__}: {exc}"
            self.parts, self._stopped = None, parts  # discarded by close, not here

    def close(self) -> None:
        super().close()
        for parts in (self.parts, self._stopped):
            if parts is not None:
                parts.discard()
        self.parts = self._stopped = None


class ProcessedKeyList(TeedKeyList):
    """The Python shell's key list, teed into the load's zone: the key list's upload (at the end of
    every load, also a failed one) also stores the zone."""

    def __init__(self, zone: ProcessedZone, rejects: Any) -> None:
        super().__init__(zone.args.write.keys.names)
        self.zone = zone
        self._rejects = rejects
        self.outcome: Optional[Dict[str, Any]] = None

    def upload(self, s3: Any, bucket: str, key: str) -> Dict[str, Any]:
        """Store the key list, then the zone (``self.outcome``, the manifest's ``processed``)."""
        out = super().upload(s3, bucket, key)
        self.zone.error = self.zone.error or self.error
        self.outcome = self.zone.finish(s3, self.parts, getattr(self._rejects, "count", 0))
        self.parts = None
        return out


class SplitKeyList(TeedKeyList):
    """A Spark task's key list, teed into its split's parts: the zone of the Spark engine is
    written from the write pass's confirmed items, as the Python shell's, not by a pass of its own
    after the writes (which read, parsed and built every row again, alone on the cores), and the
    conversion overlaps the writes' waits. ``store`` uploads the parts beside the key list."""

    def __init__(self, key_names: Sequence[str], index: int) -> None:
        super().__init__(key_names, stem=f"split-{index:05d}")
        self.index = index

    def store(self, s3: Any, bucket: str, prefix: str) -> Dict[str, Any]:
        """Upload the split's parts as ``<prefix>part-<split>-<n>.parquet`` (a retried task
        overwrites its own); their figures, or ``error`` (never raised: the load goes on)."""
        began = time.monotonic()
        out: Dict[str, Any] = {"rows": 0, "bytes": 0, "parts": [], "notes": {}, "error": self.error}
        try:
            if self.error is None and self.parts is not None:
                for number, part in enumerate(self.parts.close()):
                    key = f"{prefix}part-{self.index:05d}-{number:03d}.parquet"
                    put_file(s3, part.path, bucket, key, PARQUET_TYPE)
                    out["parts"].append({"key": key, "rows": part.rows, "schema": part.schema})
                    out["rows"] += part.rows
                    out["bytes"] += os.path.getsize(part.path)
                out["notes"] = dict(self.parts.notes)
        except Exception as exc:  # reported in the manifest, never fails the load
            LOG.exception("the processed zone of split %d could not be stored", self.index)
            out["error"] = f"split {self.index}: {type(exc).__name__}: {str(exc)[:500]}"
        converted = self.parts.seconds if self.parts is not None else 0.0
        out["seconds"] = round(converted + time.monotonic() - began, 3)
        return out


def split_key_list(args: JobArgs, index: int) -> KeyListWriter:
    """A Spark task's key list: plain when the zone is off, teed into its split's parts when on."""
    if not options_of(args).enabled:
        return KeyListWriter(args.write.keys.names)
    return SplitKeyList(args.write.keys.names, index)


def run_prefix(args: JobArgs, date: str) -> str:
    """Where the load's item parts go (``items_prefix`` of its options, table and run)."""
    return items_prefix(options_of(args).prefix, args.table, date, args.run_id)


def key_list(args: JobArgs, rejects: Any, ingestion_timestamp: str) -> KeyListWriter:
    """The load's key list: plain when the zone is off, teed into the zone when it is on."""
    options = options_of(args)
    if not options.enabled:
        return KeyListWriter(args.write.keys.names)
    return ProcessedKeyList(ProcessedZone(args, options, load_date(ingestion_timestamp)), rejects)


def outcome(keys: KeyListWriter) -> Optional[Dict[str, Any]]:
    """The manifest's ``processed`` after the key list was stored; None when the zone is off."""
    return getattr(keys, "outcome", None)


def options_of(args: JobArgs) -> ProcessedOptions:
    """The load's zone options (job arguments ``--processed`` and ``--processed_prefix``)."""
    return ProcessedOptions(args.processed, args.processed_prefix)
