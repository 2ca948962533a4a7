"""docs/reliability.md is what this suite produced: rendered from the rows the tests recorded.

Runs last (file name). On a full, passing run of tests/reliability it fails when the committed page
differs from the rendered one; ``CSV2DDB_UPDATE_RELIABILITY_REPORT=1`` writes the page instead.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from csv2ddb_dev.reliability_report import render

from tests.reliability.casegen import load_defects
from tests.reliability.conftest import DESELECTED_HERE, Results

HERE = Path(__file__).resolve().parent
PAGE = HERE.parents[1] / "docs" / "reliability.md"


def _full_run(request: pytest.FixtureRequest) -> str | None:
    """Why this session cannot vouch for the whole page (None = it can)."""
    deselected = request.config.stash.get(DESELECTED_HERE, 0)
    if deselected:
        return f"{deselected} of its tests deselected by -k/-m"
    collected = {Path(item.path).name for item in request.session.items if Path(item.path).parent == HERE}
    missing = {p.name for p in HERE.glob("test_*.py")} - collected
    if missing:
        return f"not collected: {sorted(missing)}"
    if request.session.testsfailed:
        return f"{request.session.testsfailed} test(s) failed before the report"
    return None


def test_committed_report_is_what_the_tests_produced(
    request: pytest.FixtureRequest, results: Results
) -> None:
    reason = _full_run(request)
    if reason:
        pytest.skip(f"the report needs a full, passing run of tests/reliability ({reason})")
    page = render(results.rows.values(), load_defects())
    if os.environ.get("CSV2DDB_UPDATE_RELIABILITY_REPORT") == "1":
        PAGE.write_text(page, encoding="utf-8")
    committed = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    diff = "".join(
        difflib.unified_diff(committed.splitlines(True), page.splitlines(True), "committed", "run")
    )
    assert not diff, (
        "docs/reliability.md differs from what this run produced; regenerate with "
        "CSV2DDB_UPDATE_RELIABILITY_REPORT=1 .venv/bin/python -m pytest tests/reliability\n" + diff
    )
    assert "- rows lost: 0" in page
