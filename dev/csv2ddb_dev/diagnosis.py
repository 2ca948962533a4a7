"""Why a component of the local stack died, read from its own log.

``stack status`` and ``make demo`` name the component that is gone and show the lines that explain
it (the last traceback, or the last error line), so nobody has to guess which of six logs to open.
"""

from __future__ import annotations

from pathlib import Path

# Lines that start an explanation, in the formats our components log: Python tracebacks (Airflow,
# ministack), structlog/logging levels, and PostgreSQL's FATAL/PANIC/ERROR lines.
MARKERS = ("Traceback (most recent call last)", "FATAL", "PANIC", "CRITICAL", "[error", "ERROR", "Error:")
SHOWN_LINES = 15


def cause_from_log(path: Path, lines: int = SHOWN_LINES) -> str:
    """The last explanation in ``path``: from its last traceback or error line on, at most ``lines``
    lines (a long traceback keeps its final exception line); the log's last lines when nothing
    matches; a note when there is no log."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"(no log at {path})"
    for index in range(len(text) - 1, -1, -1):
        if any(marker in text[index] for marker in MARKERS):
            start = _traceback_start(text, index)
            shown = text[start : start + lines]
            exception = _exception_line(text, start)
            if exception is not None and exception not in shown:
                shown += ["  ...", exception]
            return "\n".join(shown)
    return "\n".join(text[-lines:]) or "(empty log)"


def _traceback_start(text: list[str], index: int) -> int:
    """An error line inside a traceback: show the traceback from its first line."""
    for back in range(index, max(index - 80, -1), -1):
        if "Traceback (most recent call last)" in text[back]:
            return back
    return index


def _exception_line(text: list[str], start: int) -> str | None:
    """The ``Type: message`` line that ends the traceback starting at ``start`` (None: no traceback)."""
    if "Traceback (most recent call last)" not in text[start]:
        return None
    for line in text[start + 1 :]:
        if line and not line[0].isspace():
            return line
    return None
