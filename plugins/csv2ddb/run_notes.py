"""The DAG-run note: the run's figures (per file) shown in the Airflow UI grid.

Airflow 3 tasks may not touch the metadata database and the Task SDK has no call to set a note,
so the note is set through the public REST API (``PATCH /api/v2/dags/{dag}/dagRuns/{run}``)
with the Airflow API login stored in Secrets Manager (the same secret the trigger Lambda uses).
Where no API server answers (e.g. ``dag.test()``), the note is logged instead; the audit
table stays the durable record either way.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from csv2ddb.history.rollback import rollback_hint

log = logging.getLogger(__name__)


def format_note(records: Sequence[Mapping[str, Any]], expected: int) -> str:
    """Markdown: one line per file with status and figures, a headline, and for every file that was
    not verified how to roll back what it wrote."""
    verified = sum(1 for r in records if r.get("status") == "verified")
    lines = [f"**csv2ddb: {verified}/{expected} file(s) verified**", ""]
    lines.append(
        "| file | status | read | written | rejected | dup | counted | overwritten | load s | check s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        cells = [r.get("source_key"), r.get("status")]
        cells += [r.get(k, "") for k in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")]
        cells += [
            r.get(k, "") for k in ("items_counted", "items_overwritten", "load_seconds", "check_seconds")
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    found = [line for r in records for line in quality_lines(r)]
    if found:
        lines.append("")
        lines += found
    if len(records) < expected:
        lines.append(f"\n{expected - len(records)} file(s) have no audit record (see the failed tasks).")
    undo = [r for r in records if r.get("status") != "verified" and r.get("run_id")]
    if undo:
        lines.append("\nRoll back:")
        lines += [f"- `{r.get('source_key')}`: {rollback_hint(r['run_id'])}" for r in undo]
    return "\n".join(lines)


ERROR_CHARS = 400


def quality_lines(record: Mapping[str, Any]) -> list[str]:
    """What a person must know about one file's data beyond its figures (docs/checks.md): why it
    failed, its checks, conflicting duplicates, and a key taken only because a column is named id."""
    key = record.get("source_key")
    lines = []
    if record.get("status") != "verified" and record.get("error"):
        lines.append(f"- `{key}`: {str(record['error'])[:ERROR_CHARS]}")
    if "checks_passed" in record:
        said = "passed" if record["checks_passed"] else f"failed: {record.get('checks_failed')}"
        lines.append(f"- `{key}`: checks {said}")
    if record.get("duplicates_conflicting"):
        lines.append(
            f"- `{key}`: {record['duplicates_conflicting']} conflicting duplicate(s) "
            f"(on_conflict {record.get('on_conflict')}), {record.get('duplicates_exact', 0)} exact"
        )
    if record.get("key_by_default"):
        lines.append(
            f"- `{key}`: the key is the column `id` only because of its name (no partition key was "
            "given): name the key if `id` is not one row's id"
        )
    return lines


def _get(url: str, token: str) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        return json.loads(resp.read() or b"{}")


def _request(url: str, method: str, body: Mapping[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=15) as resp:
        return json.loads(resp.read() or b"{}")


def _login(base: str, credentials: Mapping[str, str]) -> str:
    body = {"username": credentials["username"], "password": credentials["password"]}
    return _request(f"{base}/auth/token", "POST", body)["access_token"]


def _run_url(base: str, dag_id: str, dag_run_id: str) -> str:
    run = urllib.parse.quote(dag_run_id, safe="")
    return f"{base}/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns/{run}"


def set_note(
    api_url: str,
    credentials: Mapping[str, str],
    dag_id: str,
    dag_run_id: str,
    note: str,
    append: bool = False,
) -> None:
    """Log in (``POST /auth/token``) and PATCH the run's note (after its current note when
    ``append``); raises urllib errors."""
    base = api_url.rstrip("/")
    token = _login(base, credentials)
    url = _run_url(base, dag_id, dag_run_id)
    if append:
        current = _get(url, token).get("note") or ""
        note = f"{current}\n\n{note}" if current else note
    _request(f"{url}?update_mask=note", "PATCH", {"note": note}, token)


def try_set_note(
    api_url: str,
    secret_reader: Any,
    secret_name: str,
    dag_id: str,
    dag_run_id: str,
    note: str,
    append: bool = False,
) -> bool:
    """Set the note when the API and its secret are there; otherwise log why and the note."""
    try:
        credentials = secret_reader(secret_name)
    except (ClientError, BotoCoreError, ValueError) as exc:
        log.warning("DAG-run note not set: cannot read secret %s (%s); note:\n%s", secret_name, exc, note)
        return False
    try:
        set_note(api_url, credentials, dag_id, dag_run_id, note, append=append)
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        log.warning("DAG-run note not set via %s (%s); the note would have been:\n%s", api_url, exc, note)
        return False
    log.info("DAG-run note set:\n%s", note)
    return True
