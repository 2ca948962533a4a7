"""The demo's closing lines say where the local login is, never the password (output reaches CI logs)."""

from __future__ import annotations

from pathlib import Path

from csv2ddb_dev.airflow_runner import ADMIN_USER, PASSWORDS_FILE_NAME, TRIGGER_USER, ensure_passwords
from csv2ddb_dev.demo import login_hint


def test_login_hint_names_the_password_file_not_the_password(tmp_path: Path) -> None:
    passwords = ensure_passwords(tmp_path)
    password = passwords[ADMIN_USER]

    hint = login_hint("admin", tmp_path)

    assert password
    assert passwords[TRIGGER_USER]
    assert password != passwords[TRIGGER_USER]
    assert ensure_passwords(tmp_path) == passwords  # made once, kept across restarts
    assert (tmp_path / PASSWORDS_FILE_NAME).stat().st_mode & 0o077 == 0
    assert password not in hint
    assert str(tmp_path / PASSWORDS_FILE_NAME) in hint
    assert "admin" in hint
