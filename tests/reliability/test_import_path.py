"""Every bad-input case of the reliability suite through the import path, against the batch path.

Issue 14: "every reliability case goes through the import path with the same accounting as the
batch path; the set of items in the table must be identical (compare digests)". Per case, on the
real emulator, two stacks (two buckets), one run id:

- **batch**: the job's ``main(argv)`` with the case's arguments into a table created first, what
  ``test_bad_inputs.py`` runs (run again here: that suite keeps its runs in its own module fixture,
  and they cost ~5 s);
- **import**: the same job with ``--load_method import`` for a table that does not exist yet (the
  DAG's option resolution, ``csv2ddb.load.file_plan.decide_write``, must choose ``import`` for it), which
  stages gzip'd DynamoDB JSON under ``staging/<run>/``; then what the DAG's import step asks of
  DynamoDB (``ImportTable``: DYNAMODB_JSON, GZIP, the table spec, the run's ``ClientToken``; the
  manifest read and the reconciliation are ``csv2ddb.load.import_table``'s own functions), then the DAG's
  count check (``csv2ddb.load.counts.verify_load``, by key list). The imports are issued by hand rather
  than through ``ImportLoadOperator`` only for time: the operator opens new provider hooks (boto3
  sessions) for every call, which on this 2-core machine costs more than the import, x 35 cases.
  The operator itself runs for the loads that stage nothing and for the import that ends with
  errors (below). All job runs share one pair of the job's own clients (``make_clients``).

Asserted per case: (a) the two manifests are equal except for what names the path, the stack or the
clock (``SAME_EXCEPT``), and the rejects files are byte-identical; (b) for a succeeded load,
``ImportedItemCount == rows_written`` and ``ErrorCount == 0``; (c) the imported table's item digest
(every item, by Scan; ``tests/glue/digest.py``: without ``ingestion_timestamp``, the bucket in
``source_file`` normalized) equals the batch table's. For a failed load: the import step refuses
it (nothing imported, no table), and what it staged before failing is what batch wrote.

Cases that cannot take the import path are listed in ``NOT_IMPORTABLE`` with the reason; each is
asserted to be refused before anything is read, by the DAG's option resolution and by the job.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import csv2ddb_core.cli
import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from csv2ddb.settings import Settings, load_settings
from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import LOAD_BATCH, LOAD_IMPORT, WriteOptions
from csv2ddb_core.options import parse_job_args
from csv2ddb_dev.emulator import Emulator

from tests.glue.digest import items_digest
from tests.reliability.casegen import Case, load_cases
from tests.reliability.conftest import Results
from tests.reliability.test_bad_inputs import case_keys, create_items_table, key_text, run_job_main

pytestmark = pytest.mark.emulator

CASES = {case.name: case for case in load_cases()}

# The cases the import path does not take, and why. ImportTable creates a new table and writes it
# wholesale: there is nothing stored to compare with. Asserted below: under load_method auto the DAG
# writes them in batches; an explicit import is refused by the DAG and by the job before anything
# is read, naming the option. Not cases here but refused the same way (and asserted in
# tests/glue/test_import_staging.py, tests/dags/test_load_options_dag.py and below): a rate cap
# (--max_write_rate: import uses no write capacity), and a table that exists already.
NOT_IMPORTABLE = {
    "composite_key_insert": "insert keeps stored items: a new table has none to keep",
    "composite_key_upsert_newer": "upsert_newer compares with the stored version: a new table has none",
    "version_not_comparable": "upsert_newer compares with the stored version: a new table has none",
}
IMPORTABLE = sorted(set(CASES) - set(NOT_IMPORTABLE))
REFUSAL_WORDS = ("--load_method import writes a new table", "has nothing to compare with")

# Open defects the import path has on some cases (strict xfail: fixing one makes its test pass,
# and then the entry must go).
OPEN_DEFECTS: dict[str, str] = {}

# Manifest fields that may differ between the paths: which path ran and what it staged, the stack's
# table, the clock and the machine. Everything else (every figure, the reject reasons, the
# validation pass, nothing_written, the error's words, the options, the key count) must be equal.
SAME_EXCEPT = {
    "load_method",
    "staging",
    "table",
    "keys_sha256",  # the same keys (compared as sets); batch lists them as DynamoDB confirmed them
    "started_at",
    "finished_at",
    "seconds",
    "rows_per_second",
    "peak_rss_mb",
    "write_retries",
}
IMPORT_WAVE = 25  # imports started before the first is waited for (ImportTable: 50 at most at once)
IMPORT_POLL_SECONDS = 1  # ImportLoadOperator's default (30 s) is for AWS; the emulator takes ~1 s


@dataclass
class PathRun:
    """One case through one path: where it ran, what the job said, what the table holds."""

    settings: Settings
    table: str
    run_id: str
    returncode: int
    manifest: dict[str, Any] | None
    log: str
    load: dict[str, Any] | None = None  # the DAG's load dict for this file
    options_decided: WriteOptions | None = None  # import path: the DAG's decided options
    rejects: bytes | None = None
    items: list[dict[str, Any]] | None = None  # None: the table does not exist
    import_error: BaseException | None = None
    description: dict[str, Any] | None = None  # DescribeImport
    imported: dict[str, Any] | None = None  # the manifest with the reconciled import figures
    verification: Any = None  # csv2ddb.load.counts.Verification

    @property
    def bucket(self) -> str:
        return self.settings.bucket


@dataclass
class CasePaths:
    case: Case
    batch: PathRun
    imp: PathRun


@dataclass
class Paths:
    """Every case through both paths, and what reads what they left."""

    s3: Any
    ddb: Any
    batch_stack: Settings
    import_stack: Settings
    cases: dict[str, CasePaths]


def slug(name: str) -> str:
    return name.replace("_", "-")


def aws_env(emulator: Emulator, prefix: str, home: str) -> dict[str, str]:
    """What this process needs for the job (AWS_*), the DAG library (CSV2DDB_*) and the provider's
    hooks (aws_default on the emulator; a throwaway AIRFLOW_HOME, no metadata database needed)."""
    connection = {
        "conn_type": "aws",
        "login": "test",
        "password": "test",
        "extra": {"region_name": emulator.region, "endpoint_url": emulator.endpoint_url},
    }
    return {
        **emulator.client_env(),
        "CSV2DDB_PREFIX": prefix,
        # Every case is a small file: with the stack's default threshold, load_method auto would
        # write them in batches (issue 24). These cases test the import path, so it is off here.
        "CSV2DDB_IMPORT_MIN_BYTES": "0",
        "AIRFLOW_HOME": home,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
    }


def job_argv(bucket: str, case: Case, table: str, run_id: str, *extra: str) -> list[str]:
    argv = ["--source_bucket", bucket, "--source_key", case.key, "--table", table, "--run_id", run_id]
    for name, value in case.args.items():
        argv += [f"--{name}", value]
    return [*argv, *extra]


def run_job(settings: Settings, table: str, run_id: str, argv: list[str]) -> PathRun:
    rc, out, log = run_job_main(argv)
    manifest = json.loads(out) if out.strip().startswith("{") else None
    return PathRun(settings, table, run_id, rc, manifest, log)


def load_dict(
    case: Case, settings: Settings, run_id: str, table: str, write: WriteOptions | None = None
) -> dict[str, Any]:
    """The load dict the DAG's resolve_inputs + ensure give its tasks for this file."""
    return {
        "bucket": settings.bucket,
        "key": case.key,
        "source_uri": f"s3://{settings.bucket}/{case.key}",
        "run_id": run_id,
        "table": table,
        "reject_tolerance": case.args.get("reject_tolerance", "0"),
        "options": write.texts() if write else {},
    }


def get_object(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def scan(ddb: Any, table: str) -> list[dict[str, Any]] | None:
    try:
        pages = ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]
    except ddb.exceptions.ResourceNotFoundException:
        return None


def wire(item: dict[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB JSON on the wire: binary values as base64 text (boto3 decodes them)."""
    return {
        name: {"B": base64.b64encode(value["B"]).decode()} if isinstance(value.get("B"), bytes) else value
        for name, value in item.items()
    }


def digest(items: list[dict[str, Any]], bucket: str) -> str:
    return items_digest([wire(item) for item in items], bucket)


def staging_keys(s3: Any, bucket: str, run_id: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"staging/{run_id}/")
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def staged_items(s3: Any, bucket: str, run_id: str) -> list[dict[str, Any]]:
    """The items of a load's staging parts (DynamoDB JSON lines ``{"Item": {...}}``)."""
    items = []
    for key in staging_keys(s3, bucket, run_id):
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        items += [json.loads(line)["Item"] for line in body.decode("utf-8", "surrogatepass").splitlines()]
    return items


def key_set(s3: Any, manifest: dict[str, Any], label: str) -> set[str]:
    from csv2ddb_core.keylist import read_key_list

    return {json.dumps(key, sort_keys=True) for key in read_key_list(s3, manifest, label)}


def start_import(run: PathRun, ddb: Any) -> str | None:
    """ImportTable of the run's staging prefix as the DAG's import step asks for it; None when the
    import step refuses the load (its staging job did not succeed), recorded on the run."""
    from csv2ddb import tables
    from csv2ddb.load.file_plan import FilePlan
    from csv2ddb.load.import_table import client_token, read_manifest

    assert run.load is not None
    manifest = run.manifest or {}
    if manifest.get("status") != "succeeded" or not manifest.get("staging"):
        try:  # the import step's own guard (an S3Hook per call: only where it must refuse)
            manifest = read_manifest(run.load, run.settings)
        except AirflowFailException as exc:
            run.import_error = exc
            return None
    write = FilePlan.from_xcom(run.load).write
    spec = tables.items_table_spec(run.settings, run.table, write.keys, write.ttl_attribute)
    bucket, _, prefix = manifest["staging"]["location"][len("s3://") :].partition("/")
    answer = ddb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        ClientToken=client_token(run.run_id),
        TableCreationParameters={
            "TableName": spec.name,
            "KeySchema": spec.key_schema(),
            "AttributeDefinitions": spec.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    return answer["ImportTableDescription"]["ImportArn"]


def finish_import(run: PathRun, arn: str, ddb: Any) -> None:
    """Wait for the import and reconcile it as the DAG's import step does."""
    from csv2ddb.load.import_table import reconcile

    assert run.manifest is not None
    for _ in range(600):
        run.description = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
        if run.description["ImportStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    try:
        run.imported = {**run.manifest, **reconcile(run.description, run.manifest)}
    except AirflowFailException as exc:
        run.import_error = exc


def import_with_operator(run: PathRun, ddb: Any, s3: Any) -> None:
    """The DAG's own import step, ImportLoadOperator, for one load."""
    from csv2ddb.load.import_table import ImportLoadOperator

    assert run.load is not None
    operator = ImportLoadOperator(task_id="import", load=run.load, check_interval=IMPORT_POLL_SECONDS)
    try:
        arn = operator.execute({})
    except Exception as exc:  # noqa: BLE001  (judged by the tests: which error, which words)
        run.import_error = exc
        return
    if ":import/" in arn:
        run.description = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
    stored = get_object(s3, run.bucket, run.settings.manifest_key(run.run_id))
    run.imported = json.loads(stored) if stored else None


def count_check(run: PathRun, manifest: dict[str, Any], ddb: Any, s3: Any) -> Any:
    """The DAG's count check of one succeeded load (key list + BatchGetItem)."""
    from csv2ddb.load import counts

    assert run.load is not None
    where = f"s3://{run.bucket}/{run.settings.manifest_key(run.run_id)}"
    return counts.verify_load(manifest, dict(run.load), ddb, where, s3=s3, workers=2)


@pytest.fixture(scope="module")
def paths(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    from csv2ddb.load import file_plan
    from csv2ddb.load.trigger_form import asked_options

    tag = uuid.uuid4().hex[:8]
    env = aws_env(emulator, f"rii{tag}", str(tmp_path_factory.mktemp("airflow_home_import")))
    with pytest.MonkeyPatch.context() as patch:  # the job's and the hooks' clients read the environment
        for key, value in env.items():
            patch.setenv(key, value)
        for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(leak, raising=False)
        session = boto3.Session(region_name=emulator.region)
        s3 = session.client("s3", endpoint_url=emulator.endpoint_url)
        ddb = session.client("dynamodb", endpoint_url=emulator.endpoint_url)
        batch_stack = load_settings(env, prefix=f"rib{tag}")
        import_stack = load_settings(env)  # CSV2DDB_PREFIX: the stack the DAG's library reads
        for stack in (batch_stack, import_stack):
            s3.create_bucket(Bucket=stack.bucket)
        created: list[str] = []
        cases: dict[str, CasePaths] = {}
        # One S3 and one DynamoDB client (the job's own make_clients, its config) for every job run
        # in this process, instead of two new ones per run: ~0.2 s of CPU each on this machine.
        shared = make_clients(
            parse_job_args(
                ["--source_bucket", "b", "--source_key", "k.csv", "--table", "t", "--run_id", "r"], env={}
            )
        )
        patch.setattr(csv2ddb_core.cli, "make_clients", lambda args: shared)
        try:
            for case in CASES.values():
                run_id = f"rel-{slug(case.name)}"  # one run id for both: load_run_id is in the digest
                # batch: into a table that exists (as test_bad_inputs.py)
                table = f"{batch_stack.prefix}-{slug(case.name)}"
                create_items_table(ddb, dataclasses.replace(batch_stack, table=table), case_keys(case))
                created.append(table)
                s3.put_object(Bucket=batch_stack.bucket, Key=case.key, Body=case.body)
                batch = run_job(batch_stack, table, run_id, job_argv(batch_stack.bucket, case, table, run_id))
                batch.load = load_dict(case, batch_stack, run_id, table)
                # import: a table that does not exist, the options the DAG decides for it, and
                # --load_method import (also for NOT_IMPORTABLE: there the job must refuse)
                table = f"{import_stack.prefix}-{slug(case.name)}"
                s3.put_object(Bucket=import_stack.bucket, Key=case.key, Body=case.body)
                argv = job_argv(import_stack.bucket, case, table, run_id, "--load_method", LOAD_IMPORT)
                imp = run_job(import_stack, table, run_id, argv)
                imp.options_decided = file_plan.decide_write(
                    asked_options(case.args), import_stack, None, size=len(case.body)
                ).write
                if case.name not in NOT_IMPORTABLE:
                    imp.load = load_dict(case, import_stack, run_id, table, imp.options_decided)
                cases[case.name] = CasePaths(case, batch, imp)

            # The imports in waves (the emulator runs each on its own thread; it allows, as AWS
            # does, at most 50 at once), each wave then waited for. A load that staged nothing goes
            # through the DAG's operator (see OPEN_DEFECTS).
            wave: dict[str, str | None] = {}
            for name, p in [*cases.items(), ("", None)]:
                if p is not None and p.imp.load is not None:
                    m = p.imp.manifest or {}
                    if m.get("status") == "succeeded" and not m.get("staging"):
                        import_with_operator(p.imp, ddb, s3)
                    else:
                        wave[name] = start_import(p.imp, ddb)
                if len(wave) == IMPORT_WAVE or (p is None and wave):
                    for started, arn in wave.items():
                        if arn is not None:
                            finish_import(cases[started].imp, arn, ddb)
                    wave = {}

            for p in cases.values():
                for run in (p.batch, p.imp):
                    run.rejects = get_object(s3, run.bucket, f"rejected/{run.run_id}/rejects.csv")
                    run.items = scan(ddb, run.table)
                    if run.load is not None and run.manifest and run.manifest["status"] == "succeeded":
                        manifest = run.imported if run is p.imp else run.manifest
                        if manifest is not None and run.items is not None:
                            run.verification = count_check(run, manifest, ddb, s3)
                if p.imp.items is not None:
                    created.append(p.imp.table)
            yield Paths(s3, ddb, batch_stack, import_stack, cases)
        finally:
            for table in created:
                ddb.delete_table(TableName=table)


def record_import_row(results: Results, case: Case, outcome: str, manifest: dict[str, Any] | None) -> None:
    """A row for the reliability report, kind "import" (one per case; recorded after the asserts):
    docs/reliability.md shows its outcome in the bad-input table's "import path" column."""
    m = manifest or {}
    figures = [m.get(k, 0) for k in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")]
    accounted = sum(figures[1:]) + m.get("rows_skipped", 0) + m.get("rows_unconfirmed", 0)
    results.record(
        "import",
        case.name,
        input=case.source,
        via="job --load_method import + ImportTable",
        outcome=outcome,
        rows_lost=figures[0] - accounted,
        figures=figures,
        defect=None,
    )


def as_batch_says(manifest: dict[str, Any]) -> dict[str, Any]:
    """A failed import-path manifest in the batch path's words: its staged items as written."""
    staged = (manifest.get("staging") or {}).get("items")
    if staged is None:
        return manifest
    error = manifest["error"].partition(" (nothing was imported")[0]
    unconfirmed = manifest["rows_unconfirmed"] - staged  # staged, never imported: unconfirmed
    return {
        **manifest,
        "rows_written": staged,
        "rows_unconfirmed": unconfirmed,
        "nothing_written": False,
        "error": error,
    }


def comparable(manifest: dict[str, Any], bucket: str) -> dict[str, Any]:
    """The manifest without SAME_EXCEPT, the stack's bucket written as ``<bucket>``."""
    text = json.dumps({k: v for k, v in manifest.items() if k not in SAME_EXCEPT}, sort_keys=True)
    return json.loads(text.replace(bucket, "<bucket>"))


def test_the_excluded_cases_are_exactly_those_the_dag_would_not_import() -> None:
    """NOT_IMPORTABLE is not a list of convenience: it is what load_method auto decides (for a
    file at the import threshold: below it, auto writes every case in batches)."""
    from csv2ddb.load import file_plan
    from csv2ddb.load.trigger_form import asked_options

    settings = load_settings({}, prefix="p")
    chosen = {
        name: file_plan.decide_write(
            asked_options(case.args), settings, size=settings.load.import_min_bytes
        ).write.load_method
        for name, case in CASES.items()
    }
    assert {name for name, method in chosen.items() if method == LOAD_BATCH} == set(NOT_IMPORTABLE)
    assert set(OPEN_DEFECTS) <= set(IMPORTABLE)


def _params() -> list[Any]:
    return [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, reason=OPEN_DEFECTS[name])] if name in OPEN_DEFECTS else [],
        )
        for name in IMPORTABLE
    ]


@pytest.mark.parametrize("name", _params())
def test_import_path_matches_the_batch_path(name: str, paths: Paths, results: Results) -> None:
    p = paths.cases[name]
    case, batch, imp = p.case, p.batch, p.imp
    assert batch.manifest is not None, batch.log[-2000:]
    assert imp.manifest is not None, imp.log[-2000:]
    assert batch.manifest["status"] == case.status, batch.manifest["error"]  # the batch suite's premise
    assert imp.options_decided is not None
    assert imp.options_decided.load_method == LOAD_IMPORT  # what auto decides for a new table

    # (a) the same accounting: every figure, reason, validation figure, option and the error's words
    assert imp.manifest["load_method"] == LOAD_IMPORT
    assert batch.manifest["load_method"] == LOAD_BATCH
    assert imp.returncode == batch.returncode
    staged = staged_items(paths.s3, imp.bucket, imp.run_id)
    if imp.manifest["status"] == "failed" and staged:
        # A failed staging run starts no import: the manifest says nothing reached a table and
        # keeps the staged count (which the batch path wrote) apart from rows_written.
        assert (imp.manifest["rows_written"], imp.manifest["nothing_written"]) == (0, True)
        assert imp.manifest["staging"]["items"] == len(staged) == batch.manifest["rows_written"]
        assert f"nothing was imported: the {len(staged)} staged item(s) are kept at" in imp.manifest["error"]
    else:
        assert len(staged) == imp.manifest["rows_written"]
    assert comparable(as_batch_says(imp.manifest), imp.bucket) == comparable(batch.manifest, batch.bucket)
    assert imp.rejects == batch.rejects  # the same rejected rows, lines and reasons, byte for byte
    assert key_set(paths.s3, imp.manifest, "import") == key_set(paths.s3, batch.manifest, "batch")

    if case.status == "succeeded":
        # (b) ImportTable imported exactly what was staged, reconciled as the DAG's import step does
        assert imp.import_error is None, str(imp.import_error)
        assert imp.imported is not None
        if imp.manifest["rows_written"] or imp.description is not None:
            assert imp.description is not None
            assert imp.description["ImportStatus"] == "COMPLETED"
            assert imp.description["ImportedItemCount"] == imp.manifest["rows_written"]
            assert imp.description.get("ErrorCount", 0) == 0
            assert imp.imported["import_arn"] == imp.description["ImportArn"]
            assert (imp.imported["imported_count"], imp.imported["error_count"]) == (
                imp.manifest["rows_written"],
                0,
            )
        # the DAG's count check verifies the import as any load, with the batch path's figures
        assert imp.verification is not None
        assert batch.verification is not None
        assert dataclasses.replace(imp.verification, table="", check_seconds=0) == dataclasses.replace(
            batch.verification, table="", check_seconds=0
        )
        assert imp.verification.items_counted == imp.manifest["rows_written"]
        assert imp.verification.items_missing == 0
        # (c) the same items: every item of both tables (Scan), digest without ingestion_timestamp
        assert imp.items is not None
        assert batch.items is not None
        assert len(imp.items) == imp.manifest["rows_written"]
        assert digest(imp.items, imp.bucket) == digest(batch.items, batch.bucket)
        keys = case_keys(case)
        assert {key_text(item, keys) for item in imp.items} == case.expected_ids()
        outcome = (
            f"imported {imp.manifest['rows_written']}, ErrorCount 0; figures, rejects and item "
            f"digest equal to batch ({digest(imp.items, imp.bucket)[:12]})"
        )
    else:
        # A failed staging job: the import step refuses it (nothing imported), no table is created.
        assert isinstance(imp.import_error, AirflowFailException), repr(imp.import_error)
        assert "did not succeed" in str(imp.import_error)
        assert "nothing imported" in str(imp.import_error)
        assert imp.description is None
        assert imp.items is None, f"a failed staging job left table {imp.table}"
        # What it staged before failing (only a one-pass load stages anything) is what batch wrote.
        assert digest(staged, imp.bucket) == digest(batch.items or [], batch.bucket)
        outcome = "staging job failed as the batch job did, same words and figures; nothing imported"
        if staged:
            outcome = (
                f"staging job failed as the batch job did, same words and rejects; nothing imported: "
                f"rows_written 0, the {len(staged)} staged item(s) (batch wrote them) under staging.items"
            )
    record_import_row(results, case, outcome, imp.manifest)


@pytest.mark.parametrize("name", sorted(NOT_IMPORTABLE))
def test_import_refuses_what_it_cannot_do_before_reading(name: str, paths: Paths, results: Results) -> None:
    """load_method auto writes these in batches; an explicit import is refused, by the DAG's option
    resolution and by the job (exit 2: bad arguments, nothing read, no manifest), naming the option."""
    from csv2ddb.load import file_plan
    from csv2ddb.load.trigger_form import asked_options

    p = paths.cases[name]
    case, imp = p.case, p.imp
    mode = case.args["write_mode"]
    assert imp.options_decided is not None
    assert imp.options_decided.load_method == LOAD_BATCH
    forced = {**asked_options(case.args), "load_method": LOAD_IMPORT}
    with pytest.raises(file_plan.InvalidOptions, match=f"write_mode {mode} has nothing to compare with"):
        file_plan.decide_write(forced, imp.settings)
    assert imp.returncode == 2
    assert imp.manifest is None
    for words in (*REFUSAL_WORDS, f"--write_mode {mode}"):
        assert words in imp.log, imp.log
    assert get_object(paths.s3, imp.bucket, imp.settings.manifest_key(imp.run_id)) is None
    assert staging_keys(paths.s3, imp.bucket, imp.run_id) == []
    assert imp.items is None  # no table
    # ... while the batch path loads them as test_bad_inputs.py expects
    assert p.batch.manifest is not None
    assert p.batch.manifest["status"] == case.status
    outcome = f"not importable ({NOT_IMPORTABLE[name]}): refused before reading; auto writes in batches"
    record_import_row(results, case, outcome, None)


def test_import_into_an_existing_table_is_refused_before_reading(paths: Paths) -> None:
    """A table that exists (here: a case's batch table) is never imported into: the job fails before
    it opens the object, the DAG's options refuse an explicit import and choose batch under auto."""
    from csv2ddb.load import file_plan
    from csv2ddb.load.trigger_form import asked_options

    case, batch = paths.cases["bom"].case, paths.cases["bom"].batch
    run_id = "rel-bom-import-existing"
    argv = job_argv(batch.bucket, case, batch.table, run_id, "--load_method", LOAD_IMPORT)
    run = run_job(batch.settings, batch.table, run_id, argv)  # the module's environment is still set
    m = run.manifest
    assert run.returncode == 1
    assert m is not None
    assert m["status"] == "failed"
    assert "exists already" in m["error"]
    assert "--load_method batch" in m["error"]
    assert (m["rows_read"], m["rows_written"], m["bytes_read"]) == (0, 0, 0)
    assert (m["source"]["etag"], m["source"]["size"]) == (None, None)  # the object was never opened
    assert staging_keys(paths.s3, batch.bucket, run_id) == []
    assert scan(paths.ddb, batch.table) == batch.items  # untouched
    existing = batch.settings.key_schema
    forced = {**asked_options(case.args), "load_method": LOAD_IMPORT}
    with pytest.raises(file_plan.InvalidOptions, match="exists already"):
        file_plan.decide_write(forced, batch.settings, existing)
    auto = file_plan.decide_write(asked_options(case.args), batch.settings, existing)
    assert auto.write.load_method == LOAD_BATCH


# --- an import that ends with errors ---------------------------------------------------------------


@dataclass
class FailedImport:
    run: PathRun
    staged_before: list[str]
    staged_after: list[str]
    description: dict[str, Any]
    error: BaseException
    retry_error: BaseException | None  # the same import step again (an Airflow task retry)
    imports: int  # ImportTable operations that exist for the table after the retry
    record: dict[str, Any]
    problems: list[str]
    manifest_after: dict[str, Any]


@pytest.fixture(scope="module")
def failed_import(paths: Paths) -> FailedImport:
    """A good file staged by the job, plus a staging part DynamoDB refuses items of (an item with no
    key attribute, a line that is not JSON: what a corrupted or hand-edited part would hold); then
    the DAG's import step (ImportLoadOperator) and its verify step, as the DAG runs them when the
    import task fails (the Glue task returned nothing)."""
    from csv2ddb import tables
    from csv2ddb.load import file_plan, steps
    from csv2ddb.load.trigger_form import asked_options

    case, stack, s3, ddb = CASES["bom"], paths.import_stack, paths.s3, paths.ddb
    run_id, table = "rel-bom-import-errors", f"{stack.prefix}-bom-import-errors"
    argv = job_argv(stack.bucket, case, table, run_id, "--load_method", LOAD_IMPORT)
    run = run_job(stack, table, run_id, argv)
    assert run.manifest is not None
    assert run.manifest["status"] == "succeeded", run.manifest["error"]
    bad = gzip.compress(b'{"Item":{"name":{"S":"no key attribute"}}}\nnot DynamoDB JSON\n', mtime=0)
    s3.put_object(Bucket=stack.bucket, Key=f"staging/{run_id}/part-99999.json.gz", Body=bad)
    write = file_plan.decide_write(asked_options(case.args), stack).write
    run.load = load_dict(case, stack, run_id, table, write)
    try:
        staged_before = staging_keys(s3, stack.bucket, run_id)
        import_with_operator(run, ddb, s3)
        assert run.import_error is not None, "an import with errors passed the import step"
        first_error, run.import_error = run.import_error, None
        import_with_operator(run, ddb, s3)  # a retry of the task: must fail again, start nothing new
        retry_error, run.import_error = run.import_error, first_error
        table_arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
        summaries = ddb.list_imports(TableArn=table_arn)["ImportSummaryList"]
        description = ddb.describe_import(ImportArn=summaries[0]["ImportArn"])["ImportTableDescription"]
        tables.ensure_table(ddb, tables.audit_table_spec(stack), tags=stack.tags)
        ti = SimpleNamespace(
            dag_id="csv2ddb_load", run_id="manual__import-errors", map_index=-1, xcom_pull=lambda **kw: None
        )
        dag_run = SimpleNamespace(run_type="manual", logical_date=None, triggering_user_name="reliability")
        record = steps.verify(run.load, stack, ti, dag_run, steps.Done(("import_file.import_table",), ()))
        _note, problems = steps.summarize([record], 1)
        manifest_after = json.loads(get_object(s3, stack.bucket, stack.manifest_key(run_id)) or b"{}")
        return FailedImport(
            run,
            staged_before,
            staging_keys(s3, stack.bucket, run_id),
            description,
            first_error,
            retry_error,
            len(summaries),
            record,
            problems,
            manifest_after,
        )
    finally:
        for name in (table, stack.audit_table):
            if tables.describe(ddb, name) is not None:
                ddb.delete_table(TableName=name)


def test_an_import_with_errors_fails_the_run_and_keeps_the_staging(failed_import: FailedImport) -> None:
    f = failed_import
    # DynamoDB imported the good items and counted the bad ones as errors: the import step fails
    assert f.description["ErrorCount"] == 2
    assert f.description["ImportedItemCount"] == f.run.manifest["rows_written"] == 2
    assert isinstance(f.error, AirflowException)
    # the provider's words today, the reconciliation's once it runs on a failed import
    assert any(words in str(f.error) for words in ("ItemValidationError", "did not import what was staged"))
    # a retried task fails again and starts no second import
    assert f.retry_error is not None
    assert f.imports == 1
    # the manifest is not marked imported, the file is recorded failed, the run does not succeed
    assert "import_arn" not in f.manifest_after or f.manifest_after.get("error_count")
    assert f.record["status"] == "failed"
    assert "kept for inspection" in f.record["error"]
    assert f.problems
    assert "failed" in f.problems[0]
    # the staging data is still there for inspection, every part of it
    assert len(f.staged_before) == 2
    assert f.staged_after == f.staged_before


def test_an_import_with_errors_names_its_arn_log_group_and_staging(failed_import: FailedImport) -> None:
    for error in (failed_import.error, failed_import.retry_error):  # first attempt and a retry
        message = str(error)
        assert failed_import.description["ImportArn"] in message
        assert failed_import.description["CloudWatchLogGroupArn"] in message
        assert "2 error(s)" in message
        assert f"staging/{failed_import.run.run_id}/" in message


def test_reconcile_fails_an_import_with_errors_naming_what_to_inspect() -> None:
    """The reconciliation rule itself (whatever status DynamoDB reports): ImportedItemCount must
    equal rows_written and ErrorCount be 0, else the load fails naming the ARN, the log group and
    the staging data it keeps."""
    from csv2ddb.load.import_table import reconcile

    manifest = {"rows_written": 3, "staging": {"location": "s3://b-data/staging/r1/"}}
    good = {
        "ImportArn": "arn:aws:dynamodb:us-east-1:1:table/t/import/1",
        "ImportStatus": "COMPLETED",
        "ImportedItemCount": 3,
        "ProcessedItemCount": 3,
        "ErrorCount": 0,
        "CloudWatchLogGroupArn": "arn:aws:logs:us-east-1:1:log-group:/aws-dynamodb/imports:*",
    }
    assert reconcile(good, manifest)["imported_count"] == 3
    for bad in (
        {"ErrorCount": 1, "ProcessedItemCount": 4},
        {"ImportedItemCount": 2},
        {"ImportStatus": "FAILED"},
    ):
        with pytest.raises(AirflowFailException) as failed:
            reconcile({**good, **bad}, manifest)
        message = str(failed.value)
        for words in (good["ImportArn"], good["CloudWatchLogGroupArn"], "s3://b-data/staging/r1/"):
            assert words in message
