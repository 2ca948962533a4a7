"""Every bad input of cases/cases.yaml through the Glue job script's entry point, ``main(argv)`` with
``--name value`` arguments, against the real emulator; per case: the outcome and its message, the
exact manifest figures, and an exact scan of the case's own table.

In-process rather than one interpreter per case: on this shared 2-core machine a job process
spends ~1 s of CPU importing boto3 before it reads a byte, 30 times over. ``main(argv)`` is exactly
what ``python csv2ddb_load_job.py --name value ...`` runs (argument parsing, logging, the exit
code); the job as a real process is exercised by the fault tests (killed, restarted, 10 at once).
All cases run in one module fixture (each with its own table); the test then judges each case.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from csv2ddb.settings import load_settings
from csv2ddb.tables import items_table_spec
from csv2ddb_core.cli import main
from csv2ddb_core.contract import KeySchema
from csv2ddb_core.options import key_schema_from
from csv2ddb_dev.emulator import Emulator

from tests.glue.conftest import LoadTarget
from tests.reliability.casegen import Case, load_cases
from tests.reliability.conftest import Results

pytestmark = pytest.mark.emulator

CASES = load_cases()
IDENTITY = ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")


@dataclass
class CaseRun:
    case: Case
    target: LoadTarget
    run_id: str
    returncode: int
    manifest: dict[str, Any] | None
    stderr: str
    items: dict[str, dict[str, Any]]


def run_job_main(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, log text) of ``main(argv)``, as the script's ``sys.exit(main())``."""
    out = io.StringIO()
    log_text = io.StringIO()
    handler = logging.StreamHandler(log_text)
    handler.setFormatter(logging.Formatter("%(levelname)s csv2ddb-load: %(message)s"))
    logger = logging.getLogger("csv2ddb.load")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(out):
            rc = main(argv, env={})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return rc, out.getvalue(), log_text.getvalue()


def case_keys(case: Case) -> KeySchema:
    return key_schema_from(case.args.get("partition_key", ""), case.args.get("sort_key", ""))


def key_text(item: dict[str, Any], keys: KeySchema) -> str:
    """An item's key as the cases name it: the values joined by ``|`` (binary as base64)."""
    parts = []
    for name in keys.names:
        kind, value = next(iter(item[name].items()))
        parts.append(base64.b64encode(value).decode() if kind == "B" else str(value))
    return "|".join(parts)


def create_items_table(ddb: Any, settings: Any, keys: KeySchema) -> None:
    spec = items_table_spec(settings, settings.table, keys)
    ddb.create_table(
        TableName=spec.name,
        KeySchema=spec.key_schema(),
        AttributeDefinitions=spec.attribute_definitions(),
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(scope="module")
def case_runs(emulator: Emulator) -> Iterator[dict[str, CaseRun]]:
    env = emulator.client_env()
    settings = load_settings(env, prefix=f"rel{uuid.uuid4().hex[:8]}")
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    s3 = session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    s3.create_bucket(Bucket=settings.bucket)
    targets = {}
    for case in CASES:
        table = f"{settings.prefix}-{case.name.replace('_', '-')}"
        case_settings = dataclasses.replace(settings, table=table)
        create_items_table(ddb, case_settings, case_keys(case))
        target = LoadTarget(case_settings, s3, ddb)
        target.put(case.key, case.body)
        targets[case.name] = target

    def run(case: Case) -> CaseRun:
        target = targets[case.name]
        run_id = f"rel-{case.name.replace('_', '-')}"
        rc, out, err = run_job_main(target.job_argv(case.key, run_id=run_id, **case.args))
        manifest = json.loads(out) if out.strip().startswith("{") else None
        keys = case_keys(case)
        items = {key_text(item, keys): item for item in target.scan_items()}
        return CaseRun(case, target, run_id, rc, manifest, err, items)

    try:
        with pytest.MonkeyPatch.context() as patch:  # the job's clients read AWS_* from the environment
            for key, value in env.items():
                patch.setenv(key, value)
            for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                patch.delenv(leak, raising=False)
            runs = {case.name: run(case) for case in CASES}
        yield runs
    finally:
        for target in targets.values():
            ddb.delete_table(TableName=target.table)


def outcome_text(run: CaseRun) -> str:
    manifest = run.manifest or {}
    expect = run.case.expect
    if manifest.get("status") == "succeeded":
        reasons = manifest.get("reject_reasons") or {}
        if not reasons:
            text = "loaded"
        else:
            text = "loaded with rejects (" + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ")"
    else:
        text = "failed: “" + " … ".join(expect.get("error", [])) + "”"
    if run.case.open_defect:
        text += f" [defect {run.case.open_defect}]"
    return text


def rows_lost(run: CaseRun) -> int:
    """Rows neither written, rejected nor duplicate in a succeeded load; in a failed one, the rows
    it neither accounted for nor reported as unconfirmed."""
    m = run.manifest or {}
    accounted = m["rows_written"] + m["rows_rejected"] + m["rows_duplicate"]
    if m["status"] == "succeeded":
        return run.case.rows - accounted
    return m["rows_read"] - accounted - m["rows_unconfirmed"]


def _params() -> list[Any]:
    marks = {
        c.name: pytest.mark.xfail(strict=True, reason=f"open defect {c.open_defect}, fixed after its owner")
        for c in CASES
        if c.open_defect
    }
    return [pytest.param(c.name, marks=marks.get(c.name, ())) for c in CASES]


@pytest.mark.parametrize("name", _params())
def test_bad_input_case(name: str, case_runs: dict[str, CaseRun], results: Results) -> None:
    run = case_runs[name]
    case, expect, m = run.case, run.case.expect, run.manifest
    assert m is not None, f"the job printed no manifest (rc {run.returncode}):\n{run.stderr[-3000:]}"

    # outcome and message
    assert m["status"] == expect["status"], m["error"]
    assert run.returncode == (0 if expect["status"] == "succeeded" else 1), run.stderr[-2000:]
    if expect["status"] == "failed":
        for words in expect["error"]:
            assert words in m["error"], f"{words!r} not in the error {m['error']!r}"
        assert f"load failed: {m['error']}" in run.stderr  # the log says it too, in the same words
    else:
        assert m["error"] is None

    # manifest figures, exactly, and the identity
    assert [m[k] for k in IDENTITY] == expect["figures"]
    assert m["reject_reasons"] == expect.get("reasons", {})
    if m["rows_rejected"]:
        assert m["rejected_location"] == f"s3://{run.target.bucket}/rejected/{run.run_id}/rejects.csv"
        rejects = run.target.get_object(f"rejected/{run.run_id}/rejects.csv").decode().splitlines()
        assert len(rejects) >= 1 + m["rows_rejected"]  # header + one record per reject (raw rows may wrap)
    if m["status"] == "succeeded":
        assert m["rows_unconfirmed"] == 0
    stored = json.loads(run.target.get_object(f"manifests/{run.run_id}.json"))
    assert stored == {k: v for k, v in m.items() if k != "manifest_location"}
    assert m["source"]["key"] == case.key
    assert m["source"]["size"] == len(case.body)

    # the table holds exactly the expected items
    assert set(run.items) == case.expected_ids()
    source_file = f"s3://{run.target.bucket}/{case.key}"
    for item in run.items.values():
        assert item["load_run_id"] == {"S": run.run_id}
        assert item["source_file"] == {"S": source_file}
        assert item["ingestion_timestamp"] == {"S": m["started_at"]}
    for item_id, attrs in (expect.get("attrs") or {}).items():
        for attr, value in attrs.items():
            assert run.items[item_id][attr] == value, (item_id, attr)
    for item_id, count in (expect.get("attribute_count") or {}).items():
        assert len(run.items[item_id]) == count

    lost = rows_lost(run)
    assert lost == 0
    results.record(
        "case",
        name,
        input=case.source if case.key == f"raw/{name}.csv" else f"{case.source} as `{case.key}`",
        via="job main(argv)",
        outcome=outcome_text(run),
        rows_lost=lost,
        figures=[m[k] for k in IDENTITY],
        defect=case.defect,
    )
