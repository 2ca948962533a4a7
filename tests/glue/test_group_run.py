"""A group run (``--files``): one job run loads several files in order, each its own load (its own
manifest, key list and rejects), past a failed one; a retry loads only what is not done.

Against the emulator's S3 and DynamoDB, with the job's real entry point (``csv2ddb_core.cli.main``)
run in-process.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from csv2ddb_core import group, processed
from csv2ddb_core.cli import main
from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import identity_problem
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.options import parse_job_args

from tests.glue.conftest import LoadTarget

pytestmark = pytest.mark.emulator


def csv_rows(tag: str, rows: int) -> bytes:
    return ("id,name,amount\n" + "".join(f"{tag}-{i},item {i},{i}.5\n" for i in range(rows))).encode()


BAD = b"id,name,amount\nbad-0,x,1\nbad-1,x\nbad-2,x,3\n"  # one ragged row: over a tolerance of 0


def put_group(target: LoadTarget, name: str, entries: list[dict[str, str]]) -> str:
    key = target.put(f"manifests/groups/{name}.json", json.dumps(entries).encode())
    return f"s3://{target.bucket}/{key}"


def group_argv(target: LoadTarget, uri: str) -> list[str]:
    return ["--source_bucket", target.bucket, "--table", target.table, "--files", uri, "--group_id", "g1"]


def manifest(target: LoadTarget, run_id: str) -> dict[str, Any]:
    return json.loads(target.get_object(f"manifests/{run_id}.json"))


def last_json(out: str) -> dict[str, Any]:
    """The group summary: the last JSON document the run printed."""
    start = out.rstrip().rfind("\n{")
    return json.loads(out[start + 1 :] if start >= 0 else out)


def test_group_loads_each_file_as_its_own_load_past_a_failed_one(
    target: LoadTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [(f"raw/g/f{n}.csv", f"grp-{n}", 5 + n) for n in range(4)]
    entries = [{"source_key": target.put(k, csv_rows(r, rows)), "run_id": r} for k, r, rows in files]
    entries.insert(2, {"source_key": target.put("raw/g/bad.csv", BAD), "run_id": "grp-bad"})
    uri = put_group(target, "g1", entries)

    assert main(group_argv(target, uri), env={}) == 1  # one file failed: the run fails
    for key, run_id, rows in files:  # every other file loaded, with its own exact account
        doc = manifest(target, run_id)
        assert (doc["status"], doc["rows_read"], doc["rows_written"]) == ("succeeded", rows, rows)
        assert doc["source"]["key"] == key
        assert identity_problem(doc) is None
        keys = read_key_list(target.s3, doc, f"manifests/{run_id}.json")
        assert len(keys) == rows
    bad = manifest(target, "grp-bad")
    assert bad["status"] == "failed"
    assert bad["nothing_written"] is True
    assert "above the tolerance" in bad["error"]
    assert target.get_object("rejected/grp-bad/rejects.csv")  # its rejects are its own
    assert target.count_items() == sum(rows for _, _, rows in files)
    done = last_json(capsys.readouterr().out)
    assert [f["status"] for f in done["files"]] == ["succeeded"] * 2 + ["failed"] + ["succeeded"] * 2


def test_a_retry_loads_only_what_is_not_done(target: LoadTarget, capsys: pytest.CaptureFixture[str]) -> None:
    """Run the group, delete nothing, run it again: the files that succeeded are skipped (their
    manifests untouched, their items written once); the failed file is loaded again."""
    entries = [
        {"source_key": target.put(f"raw/r/f{n}.csv", csv_rows(f"r{n}", 4)), "run_id": f"ret-{n}"}
        for n in range(3)
    ]
    entries.append({"source_key": target.put("raw/r/bad.csv", BAD), "run_id": "ret-bad"})
    uri = put_group(target, "retry", entries)
    assert main(group_argv(target, uri), env={}) == 1
    first = {e["run_id"]: manifest(target, e["run_id"]) for e in entries}
    items = {i["id"]["S"]: i["ingestion_timestamp"]["S"] for i in target.scan_items()}
    capsys.readouterr()

    assert main(group_argv(target, uri), env={}) == 1  # the bad file fails again, the rest skipped
    done = last_json(capsys.readouterr().out)
    assert [f["status"] for f in done["files"]] == ["skipped"] * 3 + ["failed"]
    for n in range(3):
        assert manifest(target, f"ret-{n}") == first[f"ret-{n}"]  # not rewritten
    assert manifest(target, "ret-bad")["finished_at"] != first["ret-bad"]["finished_at"]  # tried again
    # exactly once: the same 12 items, each still the first run's write
    assert {i["id"]["S"]: i["ingestion_timestamp"]["S"] for i in target.scan_items()} == items
    assert len(items) == 12

    # the bad file fixed in place: a third run loads only it and the group succeeds
    target.put("raw/r/bad.csv", csv_rows("fixed", 2))
    assert main(group_argv(target, uri), env={}) == 0
    assert [f["status"] for f in last_json(capsys.readouterr().out)["files"]] == ["skipped"] * 3 + [
        "succeeded"
    ]
    assert target.count_items() == 14


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'[{"source_key": "raw/x.csv"}]',  # no run id
        b'[{"source_key": "raw/x.csv", "run_id": "a"}, {"source_key": "raw/y.csv", "run_id": "a"}]',
        b'[{"source_key": "raw/x.csv", "run_id": "a", "no_such_argument": "1"}]',
        b'[{"source_key": "raw/x.csv", "run_id": "bad run id"}]',
    ],
)
def test_a_bad_group_file_is_exit_2_and_loads_nothing(target: LoadTarget, body: bytes) -> None:
    target.put("raw/x.csv", csv_rows("x", 2))
    uri = f"s3://{target.bucket}/{target.put('manifests/groups/bad.json', body)}"
    assert main(group_argv(target, uri), env={}) == 2
    assert target.count_items() == 0


def test_a_missing_group_file_is_exit_2(target: LoadTarget) -> None:
    assert main(group_argv(target, f"s3://{target.bucket}/manifests/groups/none.json"), env={}) == 2


def test_group_arguments_arrive_as_environment_variables_under_the_emulator(target: LoadTarget) -> None:
    """ministack hands a Python-shell run its arguments as environment variables: the group file
    and the common arguments are read from there; the per-file ones still win."""
    entries = [{"source_key": target.put("raw/e/a.csv", csv_rows("e", 3)), "run_id": "env-a"}]
    uri = put_group(target, "env", entries)
    env = {"source_bucket": target.bucket, "table": target.table, "files": uri, "run_id": "ignored"}
    assert main([], env=env) == 0
    assert manifest(target, "env-a")["rows_written"] == 3


def counting(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Record every request ``client`` sends (operation, parameters): the real client, observed
    through botocore's own event hooks."""

    def seen(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    client.meta.events.register("provide-client-params.*.*", seen)


def test_a_group_asks_once_for_what_its_files_share(
    target: LoadTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files of one DAG run (their run ids share its prefix): the group lists their manifests once
    (a first attempt reads none), lists their processed-zone prefixes once (a file whose prefix holds
    nothing sends no LIST; one where an earlier attempt left a part clears it, as before) and
    describes the table once. A second run skips every file, reading each listed manifest."""
    run_ids = [f"manual__2026-12-07T01_00_00__f{n}.csv__{n:016x}" for n in range(5)]
    files = [
        parse_job_args(
            target.job_argv(
                target.put(f"raw/share/f{n}.csv", csv_rows(f"sh{n}", 3)), run_id, processed="true"
            ),
            env={},
        )
        for n, run_id in enumerate(run_ids)
    ]
    leftover = (
        f"{processed.items_prefix('processed/', target.table, group.today(), run_ids[2])}part-00007.parquet"
    )
    target.put(leftover, b"an earlier attempt's part")
    s3, ddb = make_clients(files[0])  # the job's own clients (its writer needs their configuration)
    calls: list[tuple[str, dict[str, Any]]] = []
    counting(s3, calls)
    counting(ddb, calls)

    outcomes = group.run_group(files, s3, ddb)
    assert [o.status for o in outcomes] == ["succeeded"] * 5
    lists = [p["Prefix"] for op, p in calls if op == "ListObjectsV2"]
    shared = "manual__2026-12-07T01_00_00__f"
    assert sorted(lists) == sorted(
        [
            f"manifests/{shared}",
            processed.date_prefix("processed/", target.table, group.today()) + shared,
            processed.items_prefix("processed/", target.table, group.today(), run_ids[2]),
        ]
    )
    assert [op for op, p in calls if op == "GetObject" and p["Key"].endswith(".json")] == []
    assert [op for op, _ in calls].count("DescribeTable") == 1
    listed = target.s3.list_objects_v2(
        Bucket=target.bucket,
        Prefix=processed.items_prefix("processed/", target.table, group.today(), run_ids[2]),
    )
    assert [o["Key"].rsplit("/", 1)[-1] for o in listed["Contents"]] == ["part-00000.parquet"]
    for run_id in run_ids:
        doc = manifest(target, run_id)
        assert (doc["status"], doc["rows_written"], doc["processed"]["rows"]) == ("succeeded", 3, 3)
    assert target.count_items() == 15

    calls.clear()
    again = group.run_group(files, s3, ddb)
    assert [o.status for o in again] == ["skipped"] * 5
    read = [p["Key"] for op, p in calls if op == "GetObject"]
    assert read == [f"manifests/{run_id}.json" for run_id in run_ids]
    assert target.count_items() == 15
    capsys.readouterr()
