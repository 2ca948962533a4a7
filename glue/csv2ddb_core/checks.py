"""Checks: what a good file is, declared as one JSON value and judged before the first write.

A dataset (or one ad-hoc load, ``--checks``) declares them; the names are dbt's and Great
Expectations':

    {"columns": {"amount": {"not_null": true, "between": {"min": 0, "max": 500}},
                 "status": {"accepted_values": ["new", "paid"]},
                 "email":  {"matches": "^[^@]+@[^@]+$", "max_length": 254},
                 "order":  {"unique": true}},
     "file": {"required_columns": ["order", "amount"],
              "row_count": {"min": 1, "max": 1000000},
              "row_count_history": {"last": 7, "within_pct": 50}}}

- A **column check** runs on every row (in the validation pass, before any write): a row that fails
  is rejected ``check:<rule>:<column>`` and counts against the reject tolerance. An empty cell (or
  one of ``--na_values``) fails ``not_null`` and passes every other rule, as in dbt and Great
  Expectations. ``unique`` is judged on the rows the dedupe keeps (the first row of each key).
- A **file check** fails the whole load, which then writes nothing (with ``--validate_first``),
  saying which check and by how much. ``row_count_history`` needs the history: the DAG reads the
  audit table and adds ``median`` and ``loads`` (how many verified loads it found) before it starts
  the job; with no history the check passes and says so.

``CHECKS_SCHEMA`` is the JSON Schema of the declaration (a dataset file's schema embeds it);
``parse_checks`` / ``validate_checks`` are its one validator (the job's argument parser and the DAG's
planning use them), naming the check and the field of a bad declaration. ``RowChecks`` judges rows
(``judged_chunks`` a chunk of them at once, falling back to one row at a time when one fails),
``file_results`` the file. Python 3.9, standard library only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from itertools import islice
from operator import itemgetter
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from csv2ddb_core.contract import R_CHECK_PREFIX, ArgumentError, HeaderError, Reject
from csv2ddb_core.keys import DedupeIndex, key_digest

COLUMN_RULES = ("not_null", "unique", "accepted_values", "between", "matches", "max_length")
FILE_RULES = ("required_columns", "row_count", "row_count_history")
HISTORY_DEFAULT_LAST = 7
HISTORY_DEFAULT_PCT = 50
MEMO_LIMIT = 16384  # distinct cells remembered per check (cleared when full, like the type caches)
CHUNK_ROWS = 128  # rows judged at once by ``judged_chunks`` (more costs cache misses; fewer, calls)

Record = Tuple[int, List[str]]  # (line number, cells), as the readers yield them
Failing = Callable[[Sequence[str]], Optional[Reject]]

_BOUND = {
    "oneOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}([T ].+)?$"},
    ]
}
_COUNT_BOUNDS = {
    "type": "object",
    "properties": {"min": {"type": "integer", "minimum": 0}, "max": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
    "minProperties": 1,
}
# The declaration's JSON Schema (draft 2020-12). The validator below is the authority (it also
# compiles regexes and compares bounds); the schema lets editors and the dataset files check early.
CHECKS_SCHEMA: Dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "csv2ddb checks",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "columns": {
            "type": "object",
            "description": "Per column name, the rules every row's cell must pass.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    "not_null": {"type": "boolean"},
                    "unique": {"type": "boolean"},
                    "accepted_values": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "between": {
                        "type": "object",
                        "properties": {"min": _BOUND, "max": _BOUND},
                        "additionalProperties": False,
                        "minProperties": 1,
                    },
                    "matches": {"type": "string", "minLength": 1},
                    "max_length": {"type": "integer", "minimum": 0},
                },
            },
        },
        "file": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "required_columns": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "row_count": _COUNT_BOUNDS,
                "row_count_history": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "last": {"type": "integer", "minimum": 1},
                        "within_pct": {"type": "number", "exclusiveMinimum": 0},
                        "median": {"type": "number", "minimum": 0, "description": "filled in by the DAG"},
                        "loads": {"type": "integer", "minimum": 0, "description": "filled in by the DAG"},
                    },
                },
            },
        },
    },
}


class ChecksError(ArgumentError):
    """A check declaration is malformed; the message names the check and the field."""


# --- the declaration ---------------------------------------------------------------------------


def parse_checks(text: str) -> Dict[str, Any]:
    """The ``--checks`` JSON text validated (``{}`` for an empty text)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ChecksError(f"--checks is not JSON: {exc}") from exc
    return validate_checks(value)


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _iso(text: str) -> Optional[Tuple[str, Any]]:
    """("date", date) or ("datetime", datetime) of an ISO-8601 text, or None.

    None also for an instant that leaves Python's years 1-9999 once put in UTC (e.g.
    ``0001-01-01T00:00:00+05:00``): it cannot be compared, so a ``between`` cell fails its check
    and a bound is refused, never an OverflowError that stops the load."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            return "date", dt.date.fromisoformat(raw)
        stamp = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
        if stamp.tzinfo is not None:  # compare in UTC, naive times being UTC
            stamp = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return "datetime", stamp


def _bound(where: str, name: str, value: Any) -> Tuple[str, Any]:
    if _number(value):
        return "number", Decimal(str(value))
    if isinstance(value, str):
        parsed = _iso(value)
        if parsed is not None:
            return parsed
    raise ChecksError(
        f"{where}: {name} must be a number or an ISO date (YYYY-MM-DD[THH:MM:SS]), got {value!r}"
    )


def _between(where: str, spec: Any) -> Tuple[Optional[Tuple[str, Any]], Optional[Tuple[str, Any]]]:
    if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
        raise ChecksError(f"{where}: give an object with min and/or max, got {spec!r}")
    low = _bound(where, "min", spec["min"]) if "min" in spec else None
    high = _bound(where, "max", spec["max"]) if "max" in spec else None
    if low is not None and high is not None:
        if low[0] != high[0]:
            raise ChecksError(f"{where}: min {spec['min']!r} and max {spec['max']!r} are not of one kind")
        if low[1] > high[1]:
            raise ChecksError(f"{where}: min {spec['min']!r} is greater than max {spec['max']!r}")
    return low, high


def _count_bounds(where: str, spec: Any) -> None:
    if not isinstance(spec, dict) or not spec or set(spec) - {"min", "max"}:
        raise ChecksError(f"{where}: give an object with min and/or max, got {spec!r}")
    for name in ("min", "max"):
        if name in spec and (type(spec[name]) is not int or spec[name] < 0):
            raise ChecksError(f"{where}: {name} must be a whole number >= 0, got {spec[name]!r}")
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        raise ChecksError(f"{where}: min {spec['min']} is greater than max {spec['max']}")


def _column_rule(column: str, rule: str, arg: Any) -> None:
    where = f"check {rule} on column {column!r}"
    if rule in ("not_null", "unique"):
        if not isinstance(arg, bool):
            raise ChecksError(f"{where}: give true or false, got {arg!r}")
    elif rule == "accepted_values":
        if not isinstance(arg, list) or not arg or not all(isinstance(v, str) for v in arg):
            raise ChecksError(f"{where}: give a non-empty list of strings (the cells' text), got {arg!r}")
    elif rule == "between":
        _between(where, arg)
    elif rule == "matches":
        if not isinstance(arg, str) or not arg:
            raise ChecksError(f"{where}: give a regular expression, got {arg!r}")
        try:
            re.compile(arg)
        except re.error as exc:
            raise ChecksError(f"{where}: the regular expression {arg!r} does not compile: {exc}") from exc
    elif rule == "max_length":
        if type(arg) is not int or arg < 0:
            raise ChecksError(f"{where}: give a whole number >= 0, got {arg!r}")
    else:
        raise ChecksError(
            f"unknown rule {rule!r} on column {column!r}: the column rules are {list(COLUMN_RULES)}"
        )


def validate_checks(value: Any) -> Dict[str, Any]:
    """The ONE validator of a declaration: returns it (a plain JSON dict) or raises ChecksError
    naming the check and the field (unknown rule, bad argument, ``between`` min > max, a regex that
    does not compile). Columns are matched against the file's header later (``check_header``)."""
    if not isinstance(value, dict):
        raise ChecksError(f"checks must be a JSON object with 'columns' and/or 'file', got {value!r}")
    unknown = set(value) - {"columns", "file"}
    if unknown:
        raise ChecksError(
            f"checks: unknown section(s) {sorted(unknown)}: the sections are 'columns' and 'file'"
        )
    columns = value.get("columns", {})
    if not isinstance(columns, dict):
        raise ChecksError(f"checks.columns must be an object of column name -> rules, got {columns!r}")
    for column, rules in columns.items():
        if not isinstance(rules, dict) or not rules:
            raise ChecksError(
                f"checks.columns[{column!r}] must be an object of rule -> argument, got {rules!r}"
            )
        for rule, arg in rules.items():
            _column_rule(column, rule, arg)
    spec = value.get("file", {})
    if not isinstance(spec, dict):
        raise ChecksError(f"checks.file must be an object of rule -> argument, got {spec!r}")
    for rule, arg in spec.items():
        where = f"check {rule}"
        if rule == "required_columns":
            if not isinstance(arg, list) or not arg or not all(isinstance(c, str) and c for c in arg):
                raise ChecksError(f"{where}: give a non-empty list of column names, got {arg!r}")
        elif rule == "row_count":
            _count_bounds(where, arg)
        elif rule == "row_count_history":
            _history(where, arg)
        else:
            raise ChecksError(f"unknown file rule {rule!r}: the file rules are {list(FILE_RULES)}")
    return value


def _history(where: str, arg: Any) -> None:
    if not isinstance(arg, dict) or set(arg) - {"last", "within_pct", "median", "loads"}:
        raise ChecksError(f"{where}: give an object with last and within_pct, got {arg!r}")
    last = arg.get("last", HISTORY_DEFAULT_LAST)
    if type(last) is not int or last < 1:
        raise ChecksError(f"{where}: last must be a whole number >= 1, got {last!r}")
    pct = arg.get("within_pct", HISTORY_DEFAULT_PCT)
    if not _number(pct) or pct <= 0:
        raise ChecksError(f"{where}: within_pct must be a number > 0, got {pct!r}")
    if "median" in arg and (not _number(arg["median"]) or arg["median"] < 0):
        raise ChecksError(f"{where}: median must be a number >= 0, got {arg['median']!r}")
    if "loads" in arg and (type(arg["loads"]) is not int or arg["loads"] < 0):
        raise ChecksError(f"{where}: loads must be a whole number >= 0, got {arg['loads']!r}")


def history_of(checks: Mapping[str, Any]) -> Optional[Tuple[int, float]]:
    """(last N loads, allowed ± %) of a declaration's ``row_count_history``, or None."""
    spec = checks.get("file", {}).get("row_count_history")
    if spec is None:
        return None
    return int(spec.get("last", HISTORY_DEFAULT_LAST)), float(spec.get("within_pct", HISTORY_DEFAULT_PCT))


def with_history(checks: Mapping[str, Any], counts: Sequence[int]) -> Dict[str, Any]:
    """The declaration with ``row_count_history`` resolved from the row counts of the last verified
    loads (newest first; the DAG reads them from the audit table): their median and how many."""
    found = history_of(checks)
    if found is None:
        return dict(checks)
    last, _ = found
    recent = sorted(counts[:last])
    median: float = 0
    if recent:
        mid = len(recent) // 2
        median = recent[mid] if len(recent) % 2 else (recent[mid - 1] + recent[mid]) / 2
    spec = {**checks["file"]["row_count_history"], "median": median, "loads": len(recent)}
    return {**checks, "file": {**checks["file"], "row_count_history": spec}}


def declares_unique(checks: Optional[Mapping[str, Any]]) -> bool:
    """Whether a declaration holds a ``unique`` check (the one rule that needs the whole file)."""
    return any(rules.get("unique") for rules in (checks or {}).get("columns", {}).values())


def check_header(checks: Mapping[str, Any], names: Sequence[str]) -> None:
    """A column check on a column the file does not have is a bad declaration (HeaderError, before
    any row is read), naming the check and the column."""
    have = set(names)
    for column, rules in checks.get("columns", {}).items():
        if column not in have:
            raise HeaderError(
                f"check {next(iter(rules))} on column {column!r}: the file has no such column "
                f"(its columns: {list(names)})"
            )


# --- judging rows ------------------------------------------------------------------------------


def _number_cell(cell: str) -> Optional[Decimal]:
    try:
        value = Decimal(cell.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _between_test(low: Optional[Tuple[str, Any]], high: Optional[Tuple[str, Any]]) -> Callable[[str], bool]:
    kind = (low or high)[0]  # type: ignore[index]
    lo = low[1] if low else None
    hi = high[1] if high else None

    if kind == "number":

        def value_of(cell: str) -> Any:
            return _number_cell(cell)

    else:

        def value_of(cell: str) -> Any:
            parsed = _iso(cell)
            if parsed is None:
                return None
            if kind == "date":  # a date bound compares the cell's day
                return parsed[1].date() if parsed[0] == "datetime" else parsed[1]
            return parsed[1] if parsed[0] == "datetime" else dt.datetime.combine(parsed[1], dt.time())

    def test(cell: str) -> bool:
        value = value_of(cell)
        if value is None:
            return False
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    return test


def _memo_test(rule: str, arg: Any) -> Callable[[str], bool]:
    """The test of a non-null cell for one stateless rule (memoized per distinct cell by RowChecks)."""
    if rule == "accepted_values":
        accepted = frozenset(arg)
        return accepted.__contains__
    if rule == "between":
        return _between_test(*_between("", arg))
    if rule == "matches":
        search = re.compile(arg).search
        return lambda cell: search(cell) is not None
    if rule == "max_length":
        limit = int(arg)
        return lambda cell: len(cell) <= limit
    raise ValueError(rule)  # not_null and unique are not memoized tests


def _describe(rule: str, arg: Any) -> str:
    if rule == "not_null":
        return "is empty"
    if rule == "unique":
        return "repeats a value of an earlier row"
    if rule == "accepted_values":
        shown = arg[:10] + (["..."] if len(arg) > 10 else [])
        return f"is not one of {shown}"
    if rule == "between":
        return f"is not between {arg.get('min', '-inf')} and {arg.get('max', '+inf')}"
    if rule == "matches":
        return f"does not match {arg!r}"
    return f"is longer than {arg} characters"


class _Memo(Dict[str, bool]):
    """cell text -> passes, for one stateless rule: computed on first sight (``__missing__``), so
    ``map(dict.__getitem__, memos, cells)`` judges a row's cells in C, a lookup each. Cleared when
    full (bounded like the type caches); NA cells are seeded: they fail ``not_null`` only."""

    def __init__(self, test: Callable[[str], bool], na: frozenset, na_passes: bool) -> None:
        super().__init__()
        self._test = test
        self._seed = dict.fromkeys(na, na_passes)
        self.update(self._seed)

    def __missing__(self, cell: str) -> bool:
        ok = self._test(cell)
        if len(self) >= MEMO_LIMIT:
            self.clear()
            self.update(self._seed)
        self[cell] = ok
        return ok


def _cells_getter(indices: Sequence[int]) -> Callable[[Sequence[str]], Any]:
    """A row's cells at ``indices``, as a tuple, in C (``itemgetter``)."""
    if len(indices) > 1:
        return itemgetter(*indices)
    if indices:
        one = indices[0]
        return lambda row: (row[one],)
    return lambda row: ()


def _not_blank(cell: str) -> bool:
    return not cell.isspace()


# One checked column's judges for ``RowChecks.chunk_passes``: the getter of its cell, and per rule
# on it the cells known to pass and the rule's memo (which judges a cell first seen).
ColumnJudges = Tuple[Callable[[Sequence[str]], str], List[Tuple[Set[str], _Memo]]]


def _column_judges(stateless: Sequence[Tuple[int, _Memo, str]], na: frozenset) -> List[ColumnJudges]:
    """The stateless checks grouped by column: a column checked by several rules builds its
    chunk's distinct cells once. NA cells start known-good for every rule but ``not_null``."""
    by_index: Dict[int, List[Tuple[Set[str], _Memo]]] = {}
    for index, memo, name in stateless:
        good: Set[str] = set() if name.startswith("not_null:") else set(na)
        by_index.setdefault(index, []).append((good, memo))
    return [(itemgetter(index), judges) for index, judges in by_index.items()]


def _learn(new: Set[str], good: Set[str], memo: _Memo) -> bool:
    """Judge cells not seen passing before (through the rule's memo, which the per-row path then
    reuses); remember those that pass. False as soon as one fails. ``good`` is cleared when full,
    like the memos: forgetting only costs judging again."""
    for cell in new:
        if not memo[cell]:
            return False
        if len(good) >= MEMO_LIMIT:
            good.clear()
        good.add(cell)
    return True


class RowChecks:
    """The column checks of one load, compiled against its header; one per pass.

    ``failing(row)`` judges the stateless rules (before the dedupe), ``unique_failing(row)`` the
    ``unique`` rules (on rows the dedupe keeps). Each returns None or the row's Reject (reason
    ``check:<rule>:<column>`` of its first failing check, detail naming every failing one); every
    failing check counts the row in ``failures``. Results are memoized per distinct cell text;
    ``chunk_passes`` judges a chunk of rows at once (``judged_chunks``), so a row of a passing chunk
    costs each checked column a set insertion in C and no Python call.
    """

    def __init__(
        self, checks: Mapping[str, Any], names: Sequence[str], na_values: Sequence[str] = ()
    ) -> None:
        check_header(checks, names)
        index = {name: i for i, name in enumerate(names)}
        na = frozenset(na_values) | {""}
        self.failures: Dict[str, int] = {}
        self._describe: Dict[str, str] = {}
        self._memo: List[Tuple[int, _Memo, str]] = []
        self._not_null: List[Tuple[int, _Memo, str]] = []
        self._unique: List[Tuple[int, DedupeIndex, str]] = []
        self._na = na
        for column, rules in checks.get("columns", {}).items():
            for rule, arg in rules.items():
                if arg is False:  # not_null: false / unique: false declare nothing
                    continue
                name = f"{rule}:{column}"
                self.failures[name] = 0
                self._describe[name] = f"{column!r} {_describe(rule, arg)}"
                if rule == "not_null":
                    self._not_null.append((index[column], _Memo(_not_blank, na, False), name))
                elif rule == "unique":
                    self._unique.append((index[column], DedupeIndex(), name))
                else:
                    self._memo.append((index[column], _Memo(_memo_test(rule, arg), na, True), name))
        stateless = self._not_null + self._memo  # the order of the reasons: not_null first
        self._memos = [memo for _, memo, _ in stateless]
        self._names = [name for _, _, name in stateless]
        indices = [i for i, _, _ in stateless]
        self._cells: Callable[[Sequence[str]], Any] = _cells_getter(indices)
        self._columns = _column_judges(stateless, na)

    @property
    def empty(self) -> bool:
        return not self.failures

    @property
    def has_stateless(self) -> bool:
        return bool(self._not_null or self._memo)

    @property
    def has_unique(self) -> bool:
        return bool(self._unique)

    @property
    def unique_index_mb(self) -> float:
        return round(sum(u[1].nbytes for u in self._unique) / (1024 * 1024), 1)

    def failing(self, row: Sequence[str]) -> Optional[Reject]:
        """The Reject of a row failing a stateless column check, else None."""
        cells = self._cells(row)
        if all(map(dict.__getitem__, self._memos, cells)):  # the common case: no list is built
            return None
        passed = map(dict.__getitem__, self._memos, cells)
        return self._reject([name for ok, name in zip(passed, self._names) if not ok])

    def chunk_passes(self, rows: Sequence[Sequence[str]]) -> bool:
        """Whether every row of ``rows`` passes every stateless check, judged per checked column
        on the chunk's distinct cells (a set built in C, compared with the cells known to pass):
        a row costs no Python call. False (some cell fails, or a short row has no such cell) sends
        the chunk to ``failing`` row by row, which alone rejects and counts."""
        try:
            for cells_of, judges in self._columns:
                distinct = set(map(cells_of, rows))
                for good, memo in judges:
                    if not distinct <= good and not _learn(distinct - good, good, memo):
                        return False
        except IndexError:  # a ragged row: the build rejects it; the per-row path never judges it
            return False
        return True

    def unique_failing(self, row: Sequence[str]) -> Optional[Reject]:
        """The Reject of a row repeating a ``unique`` column's value of an earlier kept row."""
        bad: Optional[List[str]] = None
        for index, seen, name in self._unique:
            cell = row[index]
            if cell in self._na or cell.isspace():
                continue
            if not seen.add(key_digest(cell)):
                bad = [*(bad or ()), name]
        return None if bad is None else self._reject(bad)

    def unique_values(self, row: Sequence[str]) -> List[Optional[bytes]]:
        """The row's value digest per ``unique`` check (None for a missing value), in the order
        ``unique_reject`` takes: what a parallel engine compares across the whole file."""
        na = self._na
        return [
            None if (cell in na or cell.isspace()) else key_digest(cell)
            for cell in (row[index] for index, _, _ in self._unique)
        ]

    def unique_reject(self, failing: Sequence[int]) -> Reject:
        """The Reject (and the counts) of a row whose ``unique`` checks at these positions (of
        ``unique_values``) repeat an earlier kept row's value: as ``unique_failing`` gives it."""
        return self._reject([self._unique[position][2] for position in sorted(failing)])

    def _reject(self, bad: List[str]) -> Reject:
        for name in bad:
            self.failures[name] += 1
        detail = "; ".join(self._describe[name] for name in bad)
        return Reject(R_CHECK_PREFIX + bad[0], detail)


def judged_chunks(
    records: Iterator[Record], checks: Optional[RowChecks]
) -> Iterator[Tuple[Iterable[Record], Optional[Failing]]]:
    """The records in chunks, each with what judges its rows' stateless checks: None when the whole
    chunk passes them (``RowChecks.chunk_passes``), else ``checks.failing``, the exact per-row path
    (reasons, their order and the counts as ever). The rows stay in file order. Without stateless
    checks: the records as one chunk, judged by nothing. The rows read ahead are at most one chunk
    (``CHUNK_ROWS``): what the stream has read may be that much further than the row being sorted."""
    if checks is None or not checks.has_stateless:
        return iter(((records, None),))
    return _chunks(records, checks)


def _chunks(records: Iterator[Record], checks: RowChecks) -> Iterator[Tuple[List[Record], Optional[Failing]]]:
    """``judged_chunks`` with stateless checks. A reading error keeps the rows read before it:
    they are yielded, judged row by row as a row-by-row loop would have, and then it is raised."""
    failing, passes, rows_of = checks.failing, checks.chunk_passes, itemgetter(1)
    while True:
        chunk: List[Record] = []
        append = chunk.append
        try:
            for record in islice(records, CHUNK_ROWS):
                append(record)
        except Exception:
            if chunk:
                yield chunk, failing
            raise
        if not chunk:
            return
        yield chunk, None if passes(list(map(rows_of, chunk))) else failing


# --- results -------------------------------------------------------------------------------------


def row_results(failures: Mapping[str, int]) -> List[Dict[str, Any]]:
    """One result per column check: passed when no row failed it."""
    return [
        {"check": name, "kind": "row", "status": "failed" if n else "passed", "rows_failing": n}
        for name, n in failures.items()
    ]


def _pct(value: float) -> str:
    return f"{value:.0f} %"


def file_results(
    checks: Mapping[str, Any], names: Sequence[str], rows: Optional[int]
) -> List[Dict[str, Any]]:
    """One result per file check (``rows`` None: before the rows were read, only the header's)."""
    spec = checks.get("file", {})
    out: List[Dict[str, Any]] = []
    if "required_columns" in spec:
        missing = [c for c in spec["required_columns"] if c not in set(names)]
        detail = f"the file lacks column(s) {missing}" if missing else "every required column is present"
        out.append(_file_result("required_columns", not missing, detail))
    if rows is None:
        return out
    if "row_count" in spec:
        low, high = spec["row_count"].get("min"), spec["row_count"].get("max")
        if low is not None and rows < low:
            out.append(_file_result("row_count", False, f"row count {rows:,} is below the minimum {low:,}"))
        elif high is not None and rows > high:
            out.append(_file_result("row_count", False, f"row count {rows:,} is above the maximum {high:,}"))
        else:
            out.append(
                _file_result("row_count", True, f"row count {rows:,} is within {low or 0:,}..{high or 'any'}")
            )
    if "row_count_history" in spec:
        out.append(_history_result(spec["row_count_history"], rows))
    return out


def _history_result(spec: Mapping[str, Any], rows: int) -> Dict[str, Any]:
    pct = float(spec.get("within_pct", HISTORY_DEFAULT_PCT))
    loads = spec.get("loads")
    if not loads:
        why = "no history yet" if loads == 0 else "no history was given to the job (the DAG resolves it)"
        return _file_result("row_count_history", True, f"row count {rows:,}: {why}; passed")
    median = float(spec["median"])
    ratio = rows / median * 100 if median else (100.0 if rows == 0 else float("inf"))
    ok = abs(ratio - 100) <= pct
    detail = (
        f"row count {rows:,} is {_pct(ratio)} of the median of the last {loads} loads "
        f"({median:,.0f}); allowed ±{pct:g} %"
    )
    result = _file_result("row_count_history", ok, detail)
    result["allowed"] = [round(median * (1 - pct / 100), 1), round(median * (1 + pct / 100), 1)]
    return result


def _file_result(name: str, ok: bool, detail: str) -> Dict[str, Any]:
    return {"check": name, "kind": "file", "status": "passed" if ok else "failed", "detail": detail}


def summary(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The manifest's ``checks``: every result, how many failed, and whether the file passed."""
    failed = [r["check"] for r in results if r["status"] == "failed"]
    return {"passed": not failed, "failed": failed, "results": results}


def file_failure(results: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The error of a file that fails a file check, naming each failing check and by how much."""
    bad = [
        f"check {r['check']} failed: {r['detail']}"
        for r in results
        if r["kind"] == "file" and r["status"] == "failed"
    ]
    return "; ".join(bad) if bad else None
