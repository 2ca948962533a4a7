"""Object keys no load may start from: outside ``raw/``, or escaping it with ``raw/../``.

Two doors lead to a load, and both must refuse: the S3-event Lambda (lambda/trigger_dag.py; tested
by the deployed Lambda in test_trigger_faults.py, whose stack it shares) and the DAG's input
resolution (the trigger form or a conf naming a key or prefix), here.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException
from csv2ddb.load import steps
from csv2ddb.settings import load_settings

from tests.reliability.casegen import BAD_KEYS
from tests.reliability.conftest import Results


@pytest.mark.parametrize("field", ["key", "prefix"])
def test_the_dag_refuses_bad_keys_before_anything_runs(field: str, results: Results) -> None:
    """resolve_inputs plans the request first: a bad key must fail there, without retries."""
    settings = load_settings({}, prefix="relkeys")
    for name, (key, words) in BAD_KEYS.items():
        value = key if field == "key" else key.rsplit("/", 1)[0] + "/"
        with pytest.raises(AirflowFailException, match="invalid load request") as info:
            steps.plan({field: value}, "manual", None, settings)
        assert words in str(info.value)
        if field == "key":
            results.record(
                "key",
                f"{name} (DAG)",
                input=f"conf/form key `{key}` (and the prefix `{value.rsplit('/', 1)[0]}/`)",
                via="csv2ddb_load resolve_inputs (plan)",
                outcome=f"refused before anything ran: {info.value}",
                rows_lost=0,
                defect="F6",
            )
