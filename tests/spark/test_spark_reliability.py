"""Every bad-input case of the reliability suite (tests/reliability/cases + casegen.py) through BOTH
engines: the Python shell (in-process, its real clients) and the Spark engine (the shared local
session), each into its own table. Per case the two must agree on the outcome and its words, every
figure of the identity, the reject reasons and rejected rows, and the item set (digest of the items
under the keys each load listed).

The 2 x 39 loads run a few at a time (one module fixture, threads): each is still one whole,
independent load (its own bucket, table and run through ``run_load``), and Spark runs the jobs of
concurrent loads side by side in the shared session. Tiny files spend their time waiting (task
scheduling, emulator round trips), not computing, so overlapping them is what makes the suite fit
its time budget; each case is then judged in its own test.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from csv2ddb.settings import load_settings

from tests.reliability.casegen import CASES_DIR, Case, load_cases
from tests.reliability.test_bad_inputs import case_keys, create_items_table
from tests.spark.conftest import Engines, Loaded

pytestmark = [pytest.mark.emulator, pytest.mark.spark]
CASES = {c.name: c for c in load_cases()}
CONCURRENT_CASES = 6
assert CASES_DIR.is_dir()


def table_maker(case: Case) -> Any:
    def make(ddb: Any, table: str) -> None:
        create_items_table(ddb, load_settings({}, table=table), case_keys(case))

    return make


def run_both(engines: Engines, case: Case) -> tuple[Loaded, Loaded]:
    run_id = f"rel-{case.name.replace('_', '-')}"
    shell_bucket = engines.place(case.key, case.body, table_maker(case))
    spark_bucket = engines.place(case.key, case.body, table_maker(case))
    shell = engines.pythonshell(shell_bucket, case.key, run_id, **case.args)
    # Small splits (about 4 per file), so even these tiny files cross split boundaries.
    split_bytes = str(max(48, len(case.body) // 4))
    spark = engines.spark_load(spark_bucket, case.key, run_id, split_bytes=split_bytes, **case.args)
    return shell, spark


@pytest.fixture(scope="module")
def loaded(engines: Engines) -> Iterator[dict[str, Future[tuple[Loaded, Loaded]]]]:
    """Every case through both engines, CONCURRENT_CASES cases at a time."""
    with ThreadPoolExecutor(max_workers=CONCURRENT_CASES, thread_name_prefix="case") as pool:
        yield {name: pool.submit(run_both, engines, case) for name, case in sorted(CASES.items())}


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_engines_agree_on_every_bad_input(
    loaded: dict[str, Future[tuple[Loaded, Loaded]]], name: str
) -> None:
    shell, spark = loaded[name].result()
    case = CASES[name]
    a, b = shell.manifest, spark.manifest
    assert (a["engine"], b["engine"]) == ("pythonshell", "spark")
    assert b["status"] == a["status"] == case.status, (a["error"], b["error"])
    if a["error"] is None:
        assert b["error"] is None
    else:  # the same words, with this engine's bucket in any S3 location
        assert b["error"] == a["error"].replace(shell.bucket, spark.bucket)
    assert spark.figures == shell.figures
    assert b["reject_reasons"] == a["reject_reasons"]
    assert spark.rejects() == shell.rejects()
    assert (a["keys_location"] is None) == (b["keys_location"] is None)
    if a["keys_location"]:
        assert b["keys_count"] == a["keys_count"]
        assert spark.digest() == shell.digest()
