"""csv2ddb load job, Spark engine: the same load as ``csv2ddb_load_job.py`` (same arguments, same
items, same manifest, rejects and key list) for files beyond one machine.

AWS Glue runs it as a ``glueetl`` (Glue 5.0: Spark 3.5, Python 3.11) job, with the load core from
the wheel in ``--additional-python-modules``. From a shell, or as the local emulator's job, it
brings Spark up in local mode (``local[N,4]``: N cores, a failed task retried up to 4 times)::

    .venv/bin/python glue/csv2ddb_spark_job.py --source_bucket B --source_key raw/x.csv \\
        --table T --run_id r1 [--spark_local_cores 2] [--split_mb 128]

Three passes over byte-range splits (``csv2ddb_core.spark.partition``): scan (exact split boundaries for
quoted newlines), digest (every row's key, to find each key's first occurrence across splits),
write. All pyspark code of csv2ddb is in this file; docs/spark.md explains the engine.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from csv2ddb_core.checks import file_failure, file_results
from csv2ddb_core.cli import TERMINATED, terminate
from csv2ddb_core.clients import make_clients, s3_client
from csv2ddb_core.contract import (
    LOAD_BATCH,
    ON_CONFLICT_KEEP_LAST,
    ON_CONFLICT_REJECT,
    R_CONFLICTING_DUPLICATE,
    ArgumentError,
    JobArgs,
    JobError,
    Manifest,
)
from csv2ddb_core.group import exit_code, group_files, group_location, run_group
from csv2ddb_core.load import check_table, judge, judge_checks, tolerance_message
from csv2ddb_core.manifest import LoadResult, LoadStats, utc_now
from csv2ddb_core.options import parse_job_args, resolve_options
from csv2ddb_core.spark.artifacts import delete_parts, merge_keys, merge_rejects
from csv2ddb_core.spark.driver import (
    assemble,
    data_start,
    finish,
    first_error,
    loadable,
    prepare,
    sum_results,
    summaries_from,
    whole_object_split,
)
from csv2ddb_core.spark.partition import (
    Fault,
    LoadPlan,
    SplitResult,
    Tap,
    digest_split,
    load_split,
    scan_split,
)
from csv2ddb_core.spark.processed_zone import spark_zone
from csv2ddb_core.spark.splits import Split, nominal_starts, split_count
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, IntegerType, LongType, StructField, StructType

LOG = logging.getLogger("csv2ddb.load")
MB = 1 << 20
SPARK_OPTIONS = {
    "spark_master": "",  # e.g. local[4,4]; default: the cluster's (Glue), else local[N,4]
    "spark_local_cores": "2",
    "split_mb": "128",  # largest split
    "min_split_mb": "1",  # smallest split, unless the file is smaller
    "split_bytes": "",  # exact split size (tests)
    "worker_type": "",  # recorded in the manifest (Glue does not tell the script)
    "number_of_workers": "",
}
DIGESTS = StructType(
    [
        StructField("split", IntegerType(), False),
        StructField("line", LongType(), False),
        StructField("d", BinaryType(), False),
        StructField("c", BinaryType(), False),  # content digest: exact vs conflicting duplicates
        StructField("u", ArrayType(BinaryType(), True), True),  # value digests of the unique checks
    ]
)


def spark_options(argv: Sequence[str], env: Optional[Mapping[str, str]]) -> Dict[str, str]:
    got = resolve_options(argv, list(SPARK_OPTIONS), env)
    opts = {name: (got.get(name) or default).strip() for name, default in SPARK_OPTIONS.items()}
    for name in ("spark_local_cores", "split_mb", "min_split_mb"):
        if not opts[name].isdigit() or int(opts[name]) < 1:
            raise ArgumentError(f"--{name} must be a positive integer, got {opts[name]!r}")
    if opts["split_bytes"] and (not opts["split_bytes"].isdigit() or int(opts["split_bytes"]) < 1):
        raise ArgumentError(f"--split_bytes must be a positive integer, got {opts['split_bytes']!r}")
    return opts


# Where the Python workers' S3 and DynamoDB clients connect, handed to them per session: a worker
# otherwise inherits the JVM's environment, fixed when the first session of the process started
# (a second local session, e.g. in one test process, would send its reads to the first endpoint).
WORKER_ENDPOINT_ENV = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")


def start_spark(opts: Mapping[str, str]) -> SparkSession:
    """The cluster's session under spark-submit (Glue); else local mode bound to 127.0.0.1."""
    builder = SparkSession.builder.appName("csv2ddb-load")
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if opts["spark_master"] or not under_submit:
        # Local workers run this interpreter (its venv holds the core): PySpark reads the worker
        # Python from PYSPARK_PYTHON, not from the spark.pyspark.python setting.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.master(opts["spark_master"] or f"local[{int(opts['spark_local_cores'])},4]")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(2 * int(opts["spark_local_cores"])))
        )
        for name in WORKER_ENDPOINT_ENV:
            if os.environ.get(name):
                builder = builder.config(f"spark.executorEnv.{name}", os.environ[name])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def plan_splits(
    spark: SparkSession, s3: Any, plan: LoadPlan, opts: Mapping[str, str], result: LoadResult
) -> List[Split]:
    """Pass 1: exact splits (or the whole object as one split when it cannot be split)."""
    offset, header_lines = data_start(s3, plan, result.compression)
    if offset is None:
        return [whole_object_split(plan)]
    span = plan.size - offset
    if opts["split_bytes"]:
        count = max(1, -(-span // int(opts["split_bytes"])))
    else:
        parallelism = spark.sparkContext.defaultParallelism
        count = split_count(span, parallelism, int(opts["split_mb"]) * MB, int(opts["min_split_mb"]) * MB)
    nominal = nominal_starts(offset, plan.size, count)
    sc = spark.sparkContext
    scans = (
        sc.parallelize(range(len(nominal)), len(nominal))
        .map(lambda i: scan_split(plan, i, nominal))
        .collect()
    )
    return assemble(scans, header_lines)


def classify(digests: DataFrame, policy: str) -> DataFrame:
    """Every good row with its key's verdict, as the Python shell's ``conflicts.Duplicates`` gives
    it: ``later`` (a line after its key's first), ``conflict`` (later, other cells than the first
    row's), ``drop`` (a duplicate not written) and ``reject`` (a conflicting duplicate under
    ``reject``), and ``first`` (the key's first line)."""
    by_key = Window.partitionBy("d")
    rows = digests.withColumn("f", F.min(F.struct("line", "c")).over(by_key))
    later = F.col("line") > F.col("f.line")
    rows = rows.withColumn("later", later).withColumn("conflict", later & (F.col("c") != F.col("f.c")))
    if policy == ON_CONFLICT_KEEP_LAST:
        any_conflict = F.max(F.col("conflict").cast("int")).over(by_key) > 0
        winner = F.when(any_conflict, F.max("line").over(by_key)).otherwise(F.col("f.line"))
        rows = rows.withColumn("drop", F.col("line") != winner).withColumn("reject", F.lit(False))
    else:
        rejecting = F.lit(policy == ON_CONFLICT_REJECT)
        rows = rows.withColumn("reject", F.col("conflict") & rejecting)
        rows = rows.withColumn("drop", F.col("later") & ~F.col("reject"))
    return rows.select(
        "split", "line", F.col("f.line").alias("first"), "later", "conflict", "drop", "reject", "u"
    )


def unique_failures(classified: DataFrame) -> DataFrame:
    """``(split, line, rules)`` of every kept row (neither dropped nor rejected by its key) whose
    value of a ``unique`` check repeats an earlier kept row's; ``rules``: the positions of the
    failing checks. The Python shell's ``RowChecks.unique_failing``, over the whole file at once."""
    kept = classified.where(~F.col("drop") & ~F.col("reject") & F.col("u").isNotNull())
    values = kept.select("split", "line", F.posexplode("u").alias("rule", "v")).where(F.col("v").isNotNull())
    first = F.min("line").over(Window.partitionBy("rule", "v"))
    failing = values.withColumn("first", first).where(F.col("line") > F.col("first"))
    return failing.groupBy("split", "line").agg(F.collect_list("rule").alias("rules"))


def marked_rows(classified: DataFrame) -> DataFrame:
    """The classified rows the load treats apart from a plain first row (later, dropped or
    rejected), persisted: the counts, the duplicates and the conflicts each read them, and each
    would otherwise run the window over every row of the file again (two of them in the write
    pass's shuffle). Few rows for a file with few duplicates."""
    marked = classified.where(F.col("later") | F.col("drop") | F.col("reject"))
    return marked.persist(StorageLevel.MEMORY_AND_DISK)


def duplicate_counts(classified: DataFrame) -> Dict[str, int]:
    """Later rows, exact and conflicting (one Spark job over the classified rows, or the marked
    ones: a row that is not later counts in neither)."""
    got = classified.agg(
        F.sum((F.col("later") & ~F.col("conflict")).cast("long")).alias("exact"),
        F.sum(F.col("conflict").cast("long")).alias("conflicting"),
    ).collect()[0]
    return {"exact": int(got["exact"] or 0), "conflicting": int(got["conflicting"] or 0)}


def duplicates_of(digests: DataFrame, policy: str = ON_CONFLICT_REJECT) -> DataFrame:
    """(split, line) of every row the load does not write because its key keeps another row."""
    return classify(digests, policy).where("drop").select("split", "line")


def read_before(
    broken: int,
    summaries: Sequence[Mapping[str, Any]],
    digests: DataFrame,
    stats: LoadStats,
    policy: str = ON_CONFLICT_REJECT,
) -> None:
    """The figures of what was read before the first malformed record (the Python shell's
    validation pass reports them the same way): rows, rejects, duplicates; nothing written."""
    before = [s for s in summaries if s["index"] <= broken]
    stats.rows_read = sum(s["read"] for s in before)
    stats.rows_rejected = sum(s["rejected"] for s in before)
    for s in before:
        for reason, count in s["reasons"].items():
            stats.reject_reasons[reason] = stats.reject_reasons.get(reason, 0) + count
    classified = classify(digests.where((F.col("line") >= 0) & (F.col("split") <= broken)), policy)
    stats.rows_duplicate = classified.where("drop").count()
    conflicts = classified.where("reject").count()
    if conflicts:
        stats.rows_rejected += conflicts
        stats.reject_reasons[R_CONFLICTING_DUPLICATE] = conflicts
    stats.rows_rejected += unique_failures(classified).count()


def write_splits(
    spark: SparkSession,
    plan: LoadPlan,
    live: Sequence[Split],
    duplicates: DataFrame,
    write: bool,
    fault: Optional[Fault],
    tap: Optional[Tap] = None,
    conflicts: Optional[DataFrame] = None,
    unique: Optional[DataFrame] = None,
) -> List[SplitResult]:
    """Pass 3: one task per split, given the lines of its duplicates, of its conflicting rows to
    reject (with their key's first line) and of its rows failing ``unique`` (with the failing
    checks); the committed results."""
    sc = spark.sparkContext
    position = {s.index: i for i, s in enumerate(live)}
    specs = sc.parallelize([(s.index, (0, s)) for s in live], len(live))
    dups = duplicates.rdd.map(lambda r: (r[0], (1, r[1])))
    if conflicts is not None:
        dups = dups.union(conflicts.rdd.map(lambda r: (r[0], (2, (r[1], r[2])))))
    if unique is not None:
        dups = dups.union(unique.rdd.map(lambda r: (r[0], (3, (r[1], list(r[2]))))))

    def run(values: Any) -> SplitResult:
        split = next(v for tag, v in values if tag == 0)
        lines = {v for tag, v in values if tag == 1}
        rejected = dict(v for tag, v in values if tag == 2)
        repeating = dict(v for tag, v in values if tag == 3)
        return load_split(plan, split, lines, write, fault, tap, rejected, repeating)

    grouped = specs.union(dups).groupByKey(len(live), partitionFunc=lambda k: position[k])
    return grouped.map(lambda kv: run(kv[1])).collect()


def run_load(
    spark: SparkSession,
    args: JobArgs,
    opts: Mapping[str, str],
    s3: Any,
    ddb: Any,
    fault: Optional[Fault] = None,
    tap: Optional[Tap] = None,
) -> Manifest:
    """One load through Spark; the manifest (also on failure). ``fault`` lets a test kill tasks,
    ``tap`` capture what the tasks' writers send (``csv2ddb_core.spark.partition.Tap``)."""
    started = utc_now()
    stats = LoadStats()
    result = LoadResult()
    sc = spark.sparkContext
    engine: Dict[str, Any] = {
        "master": sc.master,
        "default_parallelism": sc.defaultParallelism,
        "worker_type": opts.get("worker_type") or None,
        "number_of_workers": int(opts["number_of_workers"]) if opts.get("number_of_workers") else None,
        "seconds": {},
    }
    error: Optional[str] = None
    cached: List[DataFrame] = []
    table_checked = False
    try:
        refuse_import_path(args)
        check_table(ddb, args.table, args.write.keys)
        table_checked = True
        plan = prepare(s3, args, started, result)
        splits = timed(engine, "scan", lambda: plan_splits(spark, s3, plan, opts, result))
        live = loadable(splits)
        engine["splits"] = len(splits)
        plan = dataclasses.replace(plan, rate_share=max(1, min(len(live), sc.defaultParallelism)))
        digests = spark.createDataFrame(
            sc.parallelize(live, len(live)).flatMap(lambda s: digest_split(plan, s)), DIGESTS
        )
        digests = digests.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(digests)
        summaries = timed(engine, "digest", lambda: summaries_from(digests.where("line < 0").collect()))
        broken = first_error(summaries)
        if broken is not None:  # a malformed file: found before the first write, nothing written
            read_before(broken[0], summaries, digests, stats, args.on_conflict)
            result.nothing_written = True
            raise JobError(broken[1])
        # Every split's task is handed the lines of its duplicates (and of its conflicting rows to
        # reject), and reports how many it was handed.
        classified = classify(digests.where("line >= 0"), args.on_conflict)
        marked = marked_rows(classified)
        cached.append(marked)
        duplicates = marked.where("drop").select("split", "line")
        conflicts = marked.where("reject").select("split", "line", "first")
        counts = timed(engine, "duplicates", lambda: duplicate_counts(marked))
        result.duplicates = {"on_conflict": args.on_conflict, **counts}
        read = sum(s["read"] for s in summaries)
        rejected = sum(s["rejected"] for s in summaries)
        if args.on_conflict == ON_CONFLICT_REJECT:
            rejected += counts["conflicting"]
        unique = (
            unique_failures(classified).persist(StorageLevel.MEMORY_AND_DISK) if has_unique(args) else None
        )
        if unique is not None:
            cached.append(unique)
            rejected += timed(engine, "unique", unique.count)
        file_failed = file_failure(file_results(args.checks, result.columns, read)) if args.checks else None
        write = not (args.write.validate_first and (file_failed or args.tolerance.exceeded(rejected, read)))
        results = timed(
            engine,
            "write",
            lambda: write_splits(spark, plan, live, duplicates, write, fault, tap, conflicts, unique),
        )
        if args.write.validate_first:  # reported only when the Python shell would run its validation pass
            marked = sum(r.marked_duplicates for r in results)
            result.validation = {"rows_read": read, "rows_rejected": rejected, "rows_duplicate": marked}
        collect_artifacts(s3, args, results, stats, result)
        engine["executor_peak_rss_mb"] = max((r.peak_rss_mb for r in results), default=0.0)
        if args.checks:
            result.check_failures = sum_check_failures(results)
            failure = judge_checks(args, result, stats.rows_read)
            if failure and not args.write.validate_first:
                result.checks_error = f"{failure} (rows already written stay written: --validate_first false)"
        if not write:
            result.nothing_written = True
            if file_failed:
                raise JobError(f"{file_failed}; nothing was written (validate_first)")
            raise JobError(tolerance_message(args, stats, result, validated=True))
        # The processed zone (off unless --processed true): the tasks wrote its parts from their
        # confirmed items; the driver keeps the committed ones and widens their types.
        result.processed = spark_zone(plan, results, stats.rows_rejected)
        judge(args, stats, result)
    except JobError as exc:
        error = str(exc)
        if table_checked and not result.has_key_list:  # as the Python shell: an empty list
            result.set_key_list(merge_keys(s3, args, []))
    except Exception as exc:  # Spark gave up on a task (4 failures), or a bug: fail loudly
        LOG.exception("unexpected error")
        error = f"internal error: {type(exc).__name__}: {str(exc)[:2000]}"
    finally:
        for frame in cached:
            frame.unpersist()
    return finish(args, s3, stats, result, started, utc_now(), error, engine)


def collect_artifacts(
    s3: Any, args: JobArgs, results: Sequence[SplitResult], stats: LoadStats, result: LoadResult
) -> None:
    """Figures from the committed results; one rejects.csv and one key list from their parts."""
    sum_results(results, stats)
    errors = [r.error for r in sorted(results, key=lambda r: r.index) if r.error]
    if errors:
        result.task_error = errors[0]
    try:
        result.rejected_location = merge_rejects(s3, args, results)
    except Exception as exc:  # noqa: BLE001 - reported as the load's failure, like the Python shell
        result.rejects_error = f"the {stats.rows_rejected} rejected row(s) could not be stored: {exc}"
    try:
        result.set_key_list(merge_keys(s3, args, results))
    except Exception as exc:  # noqa: BLE001
        result.keys_error = f"the key list could not be stored at {args.keys_key}: {exc}"
    try:
        delete_parts(s3, args, results)
    except Exception as exc:  # noqa: BLE001 - leftover parts are untidy, not wrong: say so, go on
        LOG.warning("could not delete the split parts under %s.parts/: %s", args.run_id, exc)


def sum_check_failures(results: Sequence[SplitResult]) -> Dict[str, int]:
    """Rows failing each column check, summed over the committed split results."""
    total: Dict[str, int] = {}
    for r in results:
        for name, count in r.check_failures.items():
            total[name] = total.get(name, 0) + count
    return total


def has_unique(args: JobArgs) -> bool:
    """Whether the load declares a ``unique`` check (judged by the driver over the whole file)."""
    return any(rules.get("unique") for rules in args.checks.get("columns", {}).values())


def timed(engine: Dict[str, Any], name: str, step: Callable[[], Any]) -> Any:
    began = time.monotonic()
    try:
        return step()
    finally:
        engine["seconds"][name] = round(time.monotonic() - began, 3)


def refuse_import_path(args: JobArgs) -> None:
    """The Spark engine writes through the batch path; staging for ImportTable is one process's."""
    if getattr(args, "load_method", LOAD_BATCH) != LOAD_BATCH:
        raise ArgumentError(
            f"--load_method {args.write.load_method} is the Python shell's (one staging writer); "
            "the Spark engine writes with --load_method batch"
        )


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    """One load, or a group of loads (``--files``, ``csv2ddb_core.group``: each file its own load,
    run id and manifest, in order, past a failed one, in ONE Spark session, so the group pays one
    JVM and cluster start); exit 0 (every load succeeded), 1 (one failed) or 2 (bad arguments)."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s csv2ddb-spark: %(message)s"
    )
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    group = group_location(argv, env)
    try:
        opts = spark_options(argv, env)
        files = group_files(group, argv, env, s3_client()) if group else [parse_job_args(argv, env)]
        for args in files:
            refuse_import_path(args)
    except ArgumentError as exc:
        LOG.error("%s", exc)
        return 2
    signal.signal(signal.SIGTERM, terminate)
    s3, ddb = make_clients(files[0])  # a group's files share the run's common arguments
    spark = start_spark(opts)
    try:
        if group is not None:
            LOG.info("group %s: %d file(s) in one Spark session", group, len(files))
            outcomes = run_group(
                files,
                s3,
                ddb,
                stopped=lambda: bool(TERMINATED),
                load=lambda args, s3, ddb: run_load(spark, args, opts, s3, ddb),
            )
            return exit_code(group, files, outcomes)
        manifest = run_load(spark, files[0], opts, s3, ddb)
    finally:
        spark.stop()
    print(json.dumps(manifest.to_dict(with_location=True), indent=2, sort_keys=True), flush=True)
    if not manifest.succeeded:
        LOG.error("load failed: %s", manifest.error)
        return 1
    LOG.info(
        "load succeeded: %d written, %d rejected, %d duplicate of %d read in %.1fs on %s",
        manifest.rows_written,
        manifest.rows_rejected,
        manifest.rows_duplicate,
        manifest.rows_read,
        manifest.seconds,
        manifest.extra["spark"]["master"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
