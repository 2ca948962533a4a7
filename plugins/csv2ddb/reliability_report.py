"""Render docs/reliability.md from the results the reliability suite (tests/reliability) records.

The table is produced by the tests, never typed by hand: each test records one row once its
assertions have passed, and a last test compares the rendered page with the committed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SECTIONS = (
    ("case", "Bad inputs"),
    ("key", "Bad object keys"),
    ("fault", "Faults"),
    ("security", "Security"),
)
HEADER = """# Reliability: bad inputs, faults and least privilege

Produced by `tests/reliability` (issue 6); do not edit by hand. Regenerate with
`CSV2DDB_UPDATE_RELIABILITY_REPORT=1 .venv/bin/python -m pytest tests/reliability -q`; the last test
of the suite fails when this page differs from what the run produced.

Every row was asserted by a test against the real emulator (and real Airflow where the "via"
column says so): the outcome, the manifest figures, and an exact scan of the table holding exactly
the expected items. **Rows lost** = rows of the input that are neither written, nor rejected with a
reason, nor counted as duplicates, in a load reported as succeeded, or that a failed load did not
report. It must be 0 everywhere.
"""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(results: Iterable[Mapping[str, Any]]) -> str:
    """Markdown page: one table per section, rows sorted by name, then the totals."""
    rows = list(results)
    out = [HEADER]
    for kind, title in SECTIONS:
        section = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["name"])
        if not section:
            continue
        out.append(f"\n## {title}\n")
        if kind == "case":
            out.append("| case | input | via | outcome | read | written | rejected | duplicate | rows lost |")
            out.append("|---|---|---|---|---:|---:|---:|---:|---:|")
            for r in section:
                cells = [r["name"], r["input"], r["via"], r["outcome"], *r["figures"], r["rows_lost"]]
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        else:
            out.append("| name | what was done | via | outcome | rows lost |")
            out.append("|---|---|---|---|---:|")
            for r in section:
                cells = [r["name"], r["input"], r["via"], r["outcome"], r["rows_lost"]]
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    cases = [r for r in rows if r["kind"] in ("case", "key")]
    faults = [r for r in rows if r["kind"] == "fault"]
    lost = sum(int(r["rows_lost"] or 0) for r in rows)
    out.append("\n## Totals\n")
    out.append(f"- bad-input cases tried: {len(cases)}")
    out.append(f"- faults survived: {len(faults)}")
    out.append(f"- security checks: {len([r for r in rows if r['kind'] == 'security'])}")
    out.append(f"- rows lost: {lost}")
    return "\n".join(out) + "\n"
