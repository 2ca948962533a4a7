"""The count check and the rollback under DynamoDB's pushback: throttling, ``UnprocessedKeys`` and
throttled statements are retried with bounded, jittered backoff; figures stay exact; retries that
never end fail loudly instead of passing on keys nobody read.

The emulator never throttles and never returns UnprocessedKeys, so a fault injector wraps the real
emulator client for exactly those answers (a fake only for what no local part can do); every item
read or deleted is still the emulator's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from csv2ddb import keyreads
from csv2ddb.history import rollback
from csv2ddb.load import counts
from csv2ddb.tables import audit_table_spec, ensure_table
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.writer import RetryPolicy
from csv2ddb_dev.emulator import Emulator

from tests.reliability.conftest import Results
from tests.reliability.faults import Place, numbered_csv

pytestmark = pytest.mark.emulator
ROWS = 500


def throttled(operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
    )


class PushbackDynamoDB:
    """The real emulator client, except for scripted pushback on BatchGetItem and
    BatchExecuteStatement. No ``meta``: requests go through as plain calls this wrapper can cut.

    Script entries, per operation: ``"throttle"`` (raise ThrottlingException, do nothing), an int n
    (serve all but the last n keys / statements and hand those back as unprocessed /
    ThrottlingError), ``"ok"``; ``default`` once a script is used up.
    """

    def __init__(
        self, real: Any, gets: list[Any] = (), statements: list[Any] = (), default: Any = "ok"
    ) -> None:
        self._real, self._default = real, default
        self._scripts = {"BatchGetItem": list(gets), "BatchExecuteStatement": list(statements)}
        self.calls = {"BatchGetItem": 0, "BatchExecuteStatement": 0}

    def __getattr__(self, name: str) -> Any:
        if name == "meta":
            raise AttributeError(name)
        return getattr(self._real, name)

    def _step(self, operation: str) -> int:
        self.calls[operation] += 1
        script = self._scripts[operation]
        step = script.pop(0) if script else self._default
        if step == "throttle":
            raise throttled(operation)
        return step if isinstance(step, int) else 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        cut = min(self._step("BatchGetItem"), len(keys))
        served, held = keys[: len(keys) - cut], keys[len(keys) - cut :]
        answer = (
            self._real.batch_get_item(RequestItems={table: {**request, "Keys": served}}) if served else {}
        )
        return {
            "Responses": {table: answer.get("Responses", {}).get(table, [])},
            "UnprocessedKeys": {table: {**request, "Keys": held}} if held else {},
        }

    def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
        cut = min(self._step("BatchExecuteStatement"), len(Statements))
        served = Statements[: len(Statements) - cut]
        responses = self._real.batch_execute_statement(Statements=served)["Responses"] if served else []
        busy = {"Error": {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}}
        return {"Responses": [*responses, *([busy] * cut)]}


@pytest.fixture
def loaded(emulator: Emulator, tmp_path: Path) -> tuple[Place, dict[str, Any]]:
    """A 500-row load by the real job script (its manifest and key list in S3)."""
    place = Place.create(emulator)
    key = place.put("raw/pushback.csv", numbered_csv(ROWS, "pb"))
    rc, manifest = place.run_job(place.job_argv(key, "fault-pushback"), tmp_path / "job.log")
    assert rc == 0, manifest
    return place, manifest


def test_count_check_and_rollback_retry_pushback_and_stay_exact(
    loaded: tuple[Place, dict[str, Any]], results: Results
) -> None:
    place, manifest = loaded
    load = {
        "run_id": manifest["run_id"],
        "bucket": place.bucket,
        "key": manifest["source"]["key"],
        "source_uri": f"s3://{place.bucket}/{manifest['source']['key']}",
        "table": place.table,
    }
    pushback = PushbackDynamoDB(place.ddb, gets=["throttle", 30, "throttle", 99, 1, "throttle"])
    result = counts.verify_load(manifest, load, pushback, "m", s3=place.s3, workers=2)
    assert (result.ok, result.items_counted, result.keys_checked) == (True, ROWS, ROWS)
    assert pushback.calls["BatchGetItem"] == ROWS // 100 + 6  # every scripted pushback cost one call

    # Reads that never get through: the check fails loudly, naming how many keys went unread.
    endless = PushbackDynamoDB(place.ddb, default=100)
    keys = read_key_list(place.s3, manifest, "m")
    policy = RetryPolicy(max_attempts=3, base_seconds=0.001)
    with pytest.raises(keyreads.KeyReadError, match="100 key\\(s\\) still unread after 3 attempts"):
        keyreads.count_keys(endless, place.table, keys, manifest["run_id"], None, workers=1, retry=policy)

    # The rollback through throttled statements: every item deleted, none twice, none left.
    ensure_table(place.ddb, audit_table_spec(place.settings), delay_seconds=0.2)
    statements = PushbackDynamoDB(place.ddb, statements=["ok", 7, "throttle", 25, 3])
    report = rollback.roll_back(
        place.s3, statements, place.settings, manifest["run_id"], dag_run_id="fault-rollback", workers=2
    )
    assert (report.deleted, report.left_overwritten, report.absent, report.remaining) == (ROWS, 0, 0, 0)
    assert statements.calls["BatchExecuteStatement"] == ROWS // 25 + 4
    assert place.items() == {}
    results.record(
        "fault",
        "check_and_rollback_under_pushback",
        input=f"{ROWS}-row load; 3 throttles + 3 partial BatchGetItem answers; 1 throttle + 3 partial "
        "BatchExecuteStatement answers; then endless UnprocessedKeys",
        via="counts.verify_load / rollback.roll_back + fault-injecting client over the emulator",
        outcome=(
            f"check exact ({ROWS}/{ROWS}); rollback deleted {ROWS}, none left; endless UnprocessedKeys "
            "failed loudly after 3 attempts"
        ),
        rows_lost=0,
    )
