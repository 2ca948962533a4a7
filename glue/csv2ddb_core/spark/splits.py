"""Exact byte-range splits of one CSV object, for engines that read it in parallel (Spark).

Why not quote parity alone: counting ``"`` per range and taking prefix sums tells whether a byte is
inside a quoted field only for strictly RFC 4180 files. The csv module (strict mode, what the
Python shell parses with) treats a quote inside an unquoted field (``5'10"``) as a plain character,
so parity would flip there and every later split would start in the wrong state.

What is exact instead: every split starts just after a ``\\n``. After a line end the parser is in
one of exactly two states, START (a record begins) or QUOTED (inside a quoted field that spans
lines) -- every other state ends the record at the newline. So each split is parsed twice by the
real csv module, once from each state (a QUOTED entry is simulated by a leading ``"``), and yields
its exit state for each (``transition``). Composing these functions in file order from the first
split (START) gives every split's true entry state (``entry_states``). A task then parses the
records that *start* in its split: the one reading its split from the true entry state, reading
past the split's end to finish its last record, and dropping a leading record that began earlier.

Split boundaries are found on bytes, so the encoding must keep ``\\n``, ``\\r``, ``"`` and the
delimiter single bytes that never occur inside another character (UTF-8, Latin-1, cp125x...);
other encodings, and compressed objects, are read as one split. Python 3.9, standard library only.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Sequence, Tuple

from csv2ddb_core.contract import CSV_FIELD_LIMIT
from csv2ddb_core.source import NulEscaper, read_records

START = "start"  # a record begins at the split's first byte
QUOTED = "quoted"  # the first byte continues a quoted field of an earlier split
BROKEN = "broken"  # the csv module raised before the split's end (a malformed file)
STATES = (START, QUOTED)

# Encodings whose decoders keep state across lines or bytes: never split.
_STATEFUL = ("utf_7", "iso2022", "hz", "utf_16", "utf_32")


@dataclass(frozen=True)
class Split:
    """One byte range of the object and the records that start in it.

    ``first_line``/``last_line`` are the global physical line numbers (the header is line 1) of the
    range's first and last line: a record belongs to the split iff it starts on one of them.
    """

    index: int
    start: int
    end: int
    first_line: int
    last_line: int
    entry: str = START
    whole_object: bool = False  # a compressed or unsplittable object: one split, header included
    has_header: bool = True  # a whole-object split's first record is the header (--header true)


def splittable(encoding: str, delimiter: str, quotechar: str = '"') -> bool:
    """Whether byte offsets of line ends, quotes and the delimiter are character boundaries."""
    try:
        name = codecs.lookup(encoding).name.replace("-", "_")
    except LookupError:
        return False
    if any(name.startswith(s) for s in _STATEFUL):
        return False
    try:
        return all(ch.encode(encoding) == ch.encode("ascii") for ch in ("\n", "\r", quotechar, delimiter))
    except (UnicodeEncodeError, ValueError):
        return False


def range_codec(encoding: str) -> str:
    """The codec for a split that does not start at byte 0: a UTF-8 BOM exists only there."""
    name = codecs.lookup(encoding).name
    return "utf-8" if name in ("utf-8", "utf-8-sig") else encoding


def nominal_starts(data_start: int, size: int, count: int) -> List[int]:
    """``count`` evenly spaced offsets from ``data_start`` (the byte after the header record)."""
    span = max(size - data_start, 0)
    count = max(1, min(count, span or 1))
    return [data_start + (span * i) // count for i in range(count)]


def split_count(data_bytes: int, parallelism: int, max_split_bytes: int, min_split_bytes: int) -> int:
    """Enough splits to keep every core busy twice over, none above ``max_split_bytes`` and, unless
    that forces it, none below ``min_split_bytes`` (a small file is one split); in whole waves."""
    if data_bytes <= 0:
        return 1
    by_size = -(-data_bytes // max_split_bytes)
    by_cores = min(2 * parallelism, -(-data_bytes // min_split_bytes))
    count = max(1, by_size, by_cores)
    return whole_waves(count, parallelism, data_bytes, by_size, min_split_bytes)


def whole_waves(count: int, slots: int, data_bytes: int, fewest: int, min_split_bytes: int) -> int:
    """``count`` splits rounded to a multiple of the task ``slots`` (cores, or a Glue job's workers
    times executor cores) once there are more splits than slots.

    Why: the splits are near-equal tasks, run ``slots`` at a time. 5 of them on 2 slots take 3
    waves, the last one with a slot idle: 1 -> 2 cores can then speed a pass up 5/3 = 1.67x at
    best, and on Glue the idle slots of a last, partial wave are paid DPU time. Rounded up (smaller
    splits, same number of waves, every slot busy in each); rounded down instead when rounding up
    would make splits smaller than ``min_split_bytes``, but never below ``fewest`` (the count the
    largest split size needs).
    """
    if count <= slots or count % slots == 0:
        return count
    up = -(-count // slots) * slots
    if data_bytes >= up * min_split_bytes:
        return up
    return max(up - slots, fewest)


def count_lines(data: bytes, at_end_of_object: bool) -> int:
    """Physical lines as ``io.TextIOWrapper(newline="")`` splits them: ``\\n``, ``\\r\\n`` and a lone
    ``\\r`` end a line; a last line without an end counts when the object ends there."""
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    if at_end_of_object and data and data[-1:] not in (b"\n", b"\r"):
        lines += 1
    return lines


class _Lines:
    """Lines for csv.reader, with an optional first character, noting when the input ran out."""

    def __init__(self, lines: Iterable[str], prefix: str = "") -> None:
        self._lines = lines
        self._prefix = prefix
        self.exhausted = False

    def __iter__(self) -> Iterator[str]:
        first = True
        for line in self._lines:
            if first and self._prefix:
                line = self._prefix + line
            first = False
            yield line
        if first and self._prefix:
            yield self._prefix
        self.exhausted = True


def transition(text: Iterable[str], delimiter: str, entry: str, last: bool, quotechar: str = '"') -> str:
    """The parser's state at the end of a split's text when it starts in ``entry``.

    A split ends just after a line end, so the parser is then at START, or inside a quoted field
    (strict mode raises "unexpected end of data" when the input runs out there): QUOTED. Any error
    before the input ran out, or at the very end of the object, is BROKEN.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    lines = _Lines(text, quotechar if entry == QUOTED else "")
    reader = csv.reader(NulEscaper(lines), delimiter=delimiter, quotechar=quotechar, strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error:
        return QUOTED if lines.exhausted and not last else BROKEN
    return START


def record_lines(text: Iterable[str], delimiter: str, quotechar: str = '"') -> int:
    """Physical lines up to the end of the first non-blank record (the header): where data starts."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(NulEscaper(text), delimiter=delimiter, quotechar=quotechar, strict=True)
    for row in reader:
        if row:
            break
    return reader.line_num


def line_end_offset(chunks: Iterable[bytes], lines: int) -> int:
    """The byte offset just after the ``lines``-th line end (``\n``, ``\r\n`` or a lone ``\r``)."""
    seen = offset = 0
    pending_cr = False
    for chunk in chunks:
        for i, byte in enumerate(chunk):
            if pending_cr:
                pending_cr = False
                if byte != 0x0A:  # a lone \r ended the line at the previous byte
                    seen += 1
                    if seen == lines:
                        return offset + i
            if byte == 0x0A:
                seen += 1
                if seen == lines:
                    return offset + i + 1
            elif byte == 0x0D:
                pending_cr = True
        offset += len(chunk)
    return offset  # the last line had no end: the object ends there


def entry_states(transitions: Sequence[Tuple[str, str]]) -> List[str]:
    """Each split's entry state: the first split starts a record; then compose in file order.

    ``transitions[i]`` is ``(exit from START, exit from QUOTED)`` of split ``i``. Once a split is
    BROKEN (its true parse raises), the splits after it are BROKEN too: nothing there is loaded.
    """
    states: List[str] = []
    state = START
    for from_start, from_quoted in transitions:
        states.append(state)
        if state != BROKEN:
            state = from_start if state == START else from_quoted
    return states


def split_records(
    text: Iterable[str], delimiter: str, split: Split, quotechar: str = '"'
) -> Iterator[Tuple[int, List[str]]]:
    """(global start line, cells) of every record that starts in ``split``.

    The Python shell's ``read_records`` (strict csv module, NUL kept, blank lines skipped, the same
    errors in the same words) with line numbers offset to the whole file, a stop before the first
    record starting after ``split.last_line``, and a QUOTED entry simulated by a leading quote: that
    record began in an earlier split and is dropped (as is the header of a whole-object split).
    """
    lines = _Lines(text, quotechar if split.entry == QUOTED else "")
    records = read_records(lines, delimiter, split.first_line, split.last_line, quotechar)
    if split.entry == QUOTED or (split.whole_object and split.has_header):
        next(records, None)
    yield from records
