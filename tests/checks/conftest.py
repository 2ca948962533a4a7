"""Fixtures of the checks and duplicates tests, reused from the suites that own them: the emulator's
bucket and tables (tests/glue), the one local Spark session and its two-engine runner (tests/conftest.py),
and a bootstrapped stack with a dag.test() runner (tests/dags)."""

from __future__ import annotations

from tests.dags.conftest import dag_runner, stack  # noqa: F401 - re-exported fixtures
from tests.glue.conftest import make_table, target  # noqa: F401
from tests.glue.test_table_shapes import keyed_target  # noqa: F401
