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
    if len(records) < expected:
        lines.append(f"\n{expected - len(records)} file(s) have no audit record (see the failed tasks).")
    undo = [r for r in records if r.get("status") != "verified" and r.get("run_id")]
    if undo:
        lines.append("\nRoll back:")
        lines += [f"- `{r.get('source_key')}`: {rollback_hint(r['run_id'])}" for r in undo]
    return "\n".join(lines)


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
