"""Fixtures of the reliability suite: shared ones imported from the component suites, and the
results recorder that docs/reliability.md is rendered from.

Reused, not copied: the Glue job module and its argv builder (tests/glue), the Airflow home,
dag.test() runner and bootstrap stack (tests/dags), the AUTH=true emulator + stack (tests/bootstrap).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.bootstrap.test_bootstrap_least_privilege import auth_stack  # noqa: F401  (fixture, reused)
from tests.dags.conftest import dag_runner, stack  # noqa: F401  (fixtures, reused)
from tests.glue.conftest import JOB_PATH

__all__ = ["JOB_PATH", "Results"]


class Results:
    """Rows for docs/reliability.md; a test records its row only after its assertions passed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def record(
        self,
        kind: str,
        name: str,
        *,
        input: str,
        via: str,
        outcome: str,
        rows_lost: int,
        figures: list[int] | None = None,
        defect: str | None = None,
    ) -> None:
        row = {"kind": kind, "name": name, "input": input, "via": via, "outcome": outcome}
        row.update(rows_lost=rows_lost, figures=figures or [], defect=defect)
        with self._lock:
            self.rows[(kind, name)] = row
            self.path.write_text(json.dumps(sorted(self.rows.values(), key=str), indent=1))


@pytest.fixture(scope="session")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Written as JSON under the pytest temp dir as it fills (kept for a look after the run)."""
    return Results(tmp_path_factory.mktemp("reliability") / "results.json")


DESELECTED_HERE = pytest.StashKey[int]()


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Count this folder's tests a -k/-m left out: the report test vouches for the page only when
    none were (a tier such as `make test`'s `-m "not scale"` leaves them all in)."""
    here = Path(__file__).resolve().parent
    mine = [item for item in items if Path(item.path).parent == here]
    if mine:
        config = mine[0].config
        config.stash[DESELECTED_HERE] = config.stash.get(DESELECTED_HERE, 0) + len(mine)
