"""How a load runs unless its dataset file, its trigger form or its run conf say otherwise.

These are the data team's defaults (``CSV2DDB_<FIELD>``), apart from the stack's names, which the
platform sets (:class:`csv2ddb.settings.Settings`), and from each engine's job
(its module in :mod:`csv2ddb.engines`). Each default is written here once; a run's own value is checked by
the load core's validators, the same ones that check these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from csv2ddb_core.contract import WRITE_OVERWRITE, ArgumentError
from csv2ddb_core.options import parse_load_method, parse_ttl, parse_write_mode, parse_write_rate

from csv2ddb.engines import ENGINES as REGISTERED
from csv2ddb.setting_fields import ENV_PREFIX, setting

ENGINES = ("auto", *REGISTERED)  # what CSV2DDB_ENGINE takes: auto or a registered engine
# How the verify step counts a load's items (csv2ddb.load.counts): by its keys, or the whole table.
COUNT_BY_KEYS = "keys"
COUNT_BY_SCAN = "scan"
COUNT_METHODS = (COUNT_BY_KEYS, COUNT_BY_SCAN)
# load_method auto: the smallest object it imports (a new table; see LoadDefaults.import_min_bytes).
IMPORT_MIN_BYTES = 64 << 20
# engine auto: the largest object it loads inline, in the Airflow worker (LoadDefaults.inline_max_bytes).
INLINE_MAX_BYTES = 4 << 20


@dataclass(frozen=True)
class LoadDefaults:
    """A load's defaults. Field ``x`` is overridden by env var ``CSV2DDB_X``."""

    env_prefix: ClassVar[str] = ENV_PREFIX

    # --- how rows are written ------------------------------------------------------------------
    # How loads write, unless a run's params say otherwise (the job arguments of the same names).
    write_mode: str = setting(
        WRITE_OVERWRITE,
        "`overwrite` (BatchWriteItem), `insert` (never replace an item) or `upsert_newer` (replace "
        "only when `version_column` is greater); rows not written count as `rows_skipped`",
    )
    # upsert_newer: replace only when this column's value is greater
    version_column: str = setting(
        "",
        "the column `upsert_newer` compares (its cells must be numbers)",
    )
    # items/s ("500") or write capacity units/s ("500 wcu"); "" = no cap
    max_write_rate: str = setting(
        "",
        "write-rate cap shared by all writer threads: items/s (`500`) or write capacity units/s "
        "(`500 wcu`); empty = none",
    )
    # NAME[:epoch|iso]: written as an N epoch; ensure-table turns TTL on
    ttl_column: str = setting(
        "",
        "`NAME[:epoch|iso]`: written as an `N` epoch; ensure-table turns TTL on for it",
    )
    write_concurrency: int = setting(
        8,
        "writer threads of a load",
    )
    # a count ("25") or a fraction of rows read ("0.01")
    reject_tolerance: str = setting(
        "0",
        "rejected rows allowed before a load fails: a count (`25`) or a fraction (`0.01`, `1.0`)",
    )
    # parse the whole file before the first write (all-or-nothing)
    validate_first: bool = setting(
        True,
        "parse the whole file before the first write, so a file over its tolerance writes nothing "
        "(`false`: one streaming pass)",
    )

    # --- how a file is loaded: the method and the engine ------------------------------------------
    # auto: ImportTable (no write capacity) when the target table does not exist yet, else batch
    load_method: str = setting(
        "auto",
        "`auto` (ImportTable when the target table does not exist yet, the run loads one file into "
        "it, that file is at least `CSV2DDB_IMPORT_MIN_BYTES`, and the load is a plain `overwrite` "
        "without a rate cap; else batch), `import` (refused for an existing table) or `batch`",
    )
    # An import has a fixed start-up (minutes on AWS): below this, auto writes a first load in
    # batches. Chosen from the bench's crossover measurement (docs/import.md, docs/benchmarks.md).
    import_min_bytes: int = setting(
        IMPORT_MIN_BYTES,
        "`auto` imports a first load only when its object is at least this many bytes (as S3 "
        "stores it: a `.csv.gz` counts compressed); smaller files are written in batches. `0`: "
        "import every first load. Chosen by measurement "
        "([import.md](import.md#when-a-load-imports-load_method))",
        shown=f"`{IMPORT_MIN_BYTES}` ({IMPORT_MIN_BYTES >> 20} MiB)",
    )
    # How often the import path asks DynamoDB whether its ImportTable finished (DescribeImport),
    # and for how long: 5 s x 1440 = 2 hours.
    import_poll_seconds: int = setting(
        5,
        "how often the import path asks whether its ImportTable finished (`DescribeImport`; the "
        "provider's default is 30 s)",
    )
    import_poll_attempts: int = setting(
        1440,
        "how many times (5 s × 1440 = 2 hours) before the load fails; also how long a load waits "
        "for another load's import of its table",
    )
    # auto | pythonshell | spark | inline; a run's params/conf "engine" overrides it
    engine: str = setting(
        "auto",
        "what loads a file: `pythonshell` (a Glue Python-shell run), `spark` (the Glue Spark job), "
        "`inline` (the same core inside the Airflow worker, no Glue run), or `auto` (inline up to "
        "`inline_max_bytes`, Spark over `spark_threshold_mb`, else the Python shell); a run's "
        "params/conf `engine` overrides it ([Spark engine](spark.md), "
        "[inline](dags.md#small-files-load-inline))",
    )
    # auto loads a file this small inline: a Glue start costs more than such a load (docs/dags.md)
    inline_max_bytes: int = setting(
        INLINE_MAX_BYTES,
        "`auto` loads an object of at most this many bytes inline, in the Airflow worker, without a "
        "Glue run; 0 = never",
        shown=f"`{INLINE_MAX_BYTES}` ({INLINE_MAX_BYTES >> 20} MiB)",
    )
    # auto picks Spark for an object larger than this
    spark_threshold_mb: int = setting(
        1024,
        "`auto` picks the Spark engine for an object larger than this many MiB",
    )
    # A group run loads several files of a DAG run in one Glue run (docs/dags.md): one start
    # instead of one per file, each file still its own load.
    group_max_files: int = setting(
        64,
        "at most this many files in one load task and its Glue run (a group); 1 = one per file",
    )
    # An inline group pays one task start and one import of pyarrow/pandas (seconds each on a busy
    # laptop), and its files load one after the other in one worker: larger than a Glue group.
    inline_group_max_files: int = setting(
        250,
        "at most this many files in one inline group (one load task in the worker, no Glue run); "
        "larger than `group_max_files` because an inline group pays a task start, not a Glue start, "
        "and each of its files is small (at most `inline_max_bytes`)",
    )
    group_max_bytes: int = setting(
        256 * 1024 * 1024,
        "at most this many source bytes in one group; a larger file runs alone",
        shown="`268435456` (256 MiB)",
    )

    # --- the count check and rollback (csv2ddb.load.counts, csv2ddb.history.rollback) ------------
    # "keys": look up the load's key list (cost follows the load); "scan": count the whole table
    # (the reconciliation count; a run's conf {"count_method": "scan"} asks for it once).
    count_method: str = setting(
        COUNT_BY_KEYS,
        "the count check: `keys` (look up the load's key list: cost follows the load) or `scan` "
        '(parallel full-table Scan: the reconciliation count). A run\'s conf `{"count_method": '
        '"scan"}` asks for it once',
    )
    # parallel BatchGetItem (and rollback) threads
    key_read_threads: int = setting(
        8,
        "parallel `BatchGetItem` threads of the count check, the rollback and `audit_cli keys-of --state`",
    )
    # parallel Scan segments of the full-table count
    scan_segments: int = setting(
        8,
        "parallel `Scan` segments (`TotalSegments`) of the full-table count",
    )

    # --- the analytics side (docs/analytics.md) ------------------------------------------------
    # Write the processed zone (the job's --processed) and run the analytics step (catalog, Athena,
    # metrics); the bootstrap makes the analytics resources. A dataset turns it off with
    # `processed: false` (docs/datasets.md).
    processed: bool = setting(
        True,
        "write the processed zone (Parquet per load) and run the analytics step: catalog "
        "partitions, the Athena count, CloudWatch metrics ([analytics.md](analytics.md)); needs "
        "Athena and CloudWatch (the local emulator starts both). `false`: no zone, no analytics "
        "resources; a dataset turns it off alone with `processed: false`",
    )

    def __post_init__(self) -> None:
        """A bad default fails at start, naming its variable; the core's own validators judge the
        write options (how they combine with the items table's keys: ``Settings``)."""
        var = self.env_prefix
        if self.engine not in ENGINES:
            raise ValueError(f"{var}ENGINE must be one of {ENGINES}, got {self.engine!r}")
        for name in ("import_min_bytes", "inline_max_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{var}{name.upper()} must be 0 or more, got {getattr(self, name)}")
        for name in ("group_max_files", "inline_group_max_files", "group_max_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{var}{name.upper()} must be 1 or more, got {getattr(self, name)}")
        if self.count_method not in COUNT_METHODS:
            raise ValueError(f"{var}COUNT_METHOD must be one of {COUNT_METHODS}, got {self.count_method!r}")
        try:
            parse_write_mode(self.write_mode)
            parse_ttl(self.ttl_column)
            parse_write_rate(self.max_write_rate)
            parse_load_method(self.load_method)
        except ArgumentError as exc:
            raise ValueError(f"{var}*: {exc}") from exc
