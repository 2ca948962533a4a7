"""The demo's closing lines say where the local login is, never the password (output reaches CI logs)."""

from __future__ import annotations

from pathlib import Path

from csv2ddb_dev.airflow_runner import PASSWORDS_FILE_NAME, ensure_admin_password
from csv2ddb_dev.demo import login_hint


def test_login_hint_names_the_password_file_not_the_password(tmp_path: Path) -> None:
    password = ensure_admin_password(tmp_path)

    hint = login_hint("admin", tmp_path)

    assert password
    assert password not in hint
    assert str(tmp_path / PASSWORDS_FILE_NAME) in hint
    assert "admin" in hint
