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

The **import path** column: the same file as a first load into a new table through ImportTable
(the job stages DynamoDB JSON, ImportTable creates the table), asserted to give the batch path's
figures, rejects and exact item set (empty: not run that way, e.g. a conditional write mode, which
a new table cannot use).

Every row was asserted by a test against the real emulator (and real Airflow where the "via"
column says so): the outcome, the manifest figures, and an exact scan of the table holding exactly
the expected items. **Rows lost** = rows of the input that are neither written, nor rejected with a
reason, nor counted as duplicates, in a load reported as succeeded, or that a failed load did not
report. It must be 0 everywhere.

Where the suite lives: cases `tests/reliability/cases/` (files + `cases.yaml` with each expected
outcome; the large ones generated in `tests/reliability/casegen.py`), tests `tests/reliability/`.
Defects it found are listed at the end, with the component where each was fixed.
"""
COVERED_ELSEWHERE = """
## Covered by the component suites (not repeated here)

- Single allowed/denied calls of the Glue and Lambda roles under `AUTH=true`:
  `tests/bootstrap/test_bootstrap_least_privilege.py` (extended above by the real job under the
  Glue role and more denied Lambda-role calls).
- Teardown deletes only resources tagged as the stack's own, and leaves a same-named untagged one
  alone: `tests/bootstrap/test_bootstrap_stack.py`.
- Airflow's api-server, scheduler, dag-processor and triggerer listen on 127.0.0.1 only, and the
  Lambda -> real api-server -> 409 path: `tests/local/test_local_airflow.py`.
- The writer's retry policy (backoff, caps, exhausted attempts) with a fake client:
  `tests/glue/test_retry.py`.
"""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(
    results: Iterable[Mapping[str, Any]], defects: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """Markdown page: one table per section, rows sorted by name, the totals, the defects found.

    A defect counts as fixed only when a recorded row (a passing test) names it.
    """
    rows = list(results)
    out = [HEADER]
    for kind, title in SECTIONS:
        section = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["name"])
        if not section:
            continue
        out.append(f"\n## {title}\n")
        if kind == "case":
            # The same case as a first load through ImportTable (tests/reliability/test_import_path.py).
            imported = {r["name"]: r for r in rows if r["kind"] == "import"}
            out.append(
                "| case | input | via | outcome | read | written | rejected | duplicate | rows lost "
                "| import path |"
            )
            out.append("|---|---|---|---|---:|---:|---:|---:|---:|---|")
            for r in section:
                other = imported.get(r["name"])
                cells = [r["name"], r["input"], r["via"], r["outcome"], *r["figures"], r["rows_lost"]]
                cells.append(other["outcome"] if other else "")
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        else:
            out.append("| name | what was done | via | outcome | rows lost |")
            out.append("|---|---|---|---|---:|")
            for r in section:
                cells = [r["name"], r["input"], r["via"], r["outcome"], r["rows_lost"]]
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    # one case may be run through several doors ("bom" and "bom (DAG)"): count it once
    cases = {r["name"].split(" (")[0] for r in rows if r["kind"] in ("case", "key")}
    faults = [r for r in rows if r["kind"] == "fault"]
    lost = sum(int(r["rows_lost"] or 0) for r in rows)
    out.append("\n## Totals\n")
    case_rows = len([r for r in rows if r["kind"] in ("case", "key")])
    out.append(f"- bad-input cases tried: {len(cases)} (table rows: {case_rows})")
    out.append(f"- faults survived: {len(faults)}")
    out.append(f"- security checks: {len([r for r in rows if r['kind'] == 'security'])}")
    out.append(f"- rows lost: {lost}")
    if defects:
        out.append("\n## Defects found by this suite\n")
        out.append("| id | defect | fixed in | status |")
        out.append("|---|---|---|---|")
        for ident, info in sorted(defects.items()):
            proof = sorted(r["name"] for r in rows if r.get("defect") == ident)
            status = "fixed; passing: " + ", ".join(proof) if proof else "open"
            out.append(f"| {ident} | {_cell(info['what'])} | `{_cell(info['where'])}` | {_cell(status)} |")
    out.append(COVERED_ELSEWHERE)
    return "\n".join(out).rstrip("\n") + "\n"
