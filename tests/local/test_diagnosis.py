"""``cause_from_log``: the lines that say why a component died, from its own log."""

from __future__ import annotations

from pathlib import Path

from csv2ddb_dev.diagnosis import cause_from_log


def test_the_last_traceback_is_shown_with_its_exception(tmp_path: Path) -> None:
    frames = "".join(f'  File "m{i}.py", line {i}, in f\n    call()\n' for i in range(20))
    log = tmp_path / "scheduler.log"
    log.write_text(
        "Traceback (most recent call last):\nValueError: an older one\n"
        f"INFO ok\nTraceback (most recent call last):\n{frames}"
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked\n"
    )
    cause = cause_from_log(log)
    assert cause.startswith('Traceback (most recent call last):\n  File "m0.py"')
    assert "an older one" not in cause
    assert cause.endswith("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked")


def test_a_postgres_fatal_line_is_found(tmp_path: Path) -> None:
    log = tmp_path / "postgres.log"
    log.write_text("LOG: starting\nFATAL:  could not create lock file: Permission denied\nLOG: shut down\n")
    assert cause_from_log(log).startswith("FATAL:  could not create lock file")


def test_without_an_error_line_the_tail_is_shown_and_a_missing_log_is_named(tmp_path: Path) -> None:
    log = tmp_path / "triggerer.log"
    log.write_text("\n".join(f"line {i}" for i in range(40)) + "\n")
    assert cause_from_log(log, lines=3) == "line 37\nline 38\nline 39"
    assert cause_from_log(tmp_path / "none.log") == f"(no log at {tmp_path / 'none.log'})"
