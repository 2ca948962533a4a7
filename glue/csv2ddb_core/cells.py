"""Typing cells: CSV text to DynamoDB attribute values, and DynamoDB's item-size accounting."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, List, Mapping, Optional, Sequence

from csv2ddb_core.contract import (
    MAX_NUMBER_ADJUSTED_EXP,
    MAX_NUMBER_DIGITS,
    MIN_NUMBER_ADJUSTED_EXP,
    HeaderError,
)
from csv2ddb_core.header import HeaderSpec

_AUTO_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
_LOOSE_NUMBER_RE = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*\Z")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def is_dynamodb_number(value: Decimal) -> bool:
    """Finite, at most 38 significant digits, magnitude within 1E-130 .. 9.99E+125 (or zero)."""
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    if len(digits) > MAX_NUMBER_DIGITS:
        return False
    return MIN_NUMBER_ADJUSTED_EXP <= value.adjusted() <= MAX_NUMBER_ADJUSTED_EXP


def auto_number(text: str) -> Optional[str]:
    """The text to send as a DynamoDB number, or None to keep the cell a string.

    Only plain decimal notation that reads back as the same number is typed: no leading ``+``,
    no leading zeros (``007`` stays a string), no spaces, no ``NaN``/``Infinity``, and it must be
    a valid DynamoDB number (else it stays a string rather than failing the write).
    """
    if not _AUTO_NUMBER_RE.match(text):
        return None
    if len(text) <= MAX_NUMBER_DIGITS and "e" not in text and "E" not in text:
        return text  # at most 38 digits, no exponent: always valid
    return text if is_dynamodb_number(Decimal(text)) else None


def canonical_number(value: Decimal) -> str:
    """The text DynamoDB stores and returns for ``value``: plain notation, no exponent, no
    trailing fraction zeros, ``0`` for any zero (``1e3`` -> ``1000``, ``1.50`` -> ``1.5``).

    Exact at any precision (no ``normalize()``: it rounds to the context's 28 digits, and two
    38-digit keys would then look alike). One value, one text: the dedupe, the key list and the
    stored item agree.
    """
    if value.is_zero():
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def strict_number(text: str) -> Optional[str]:
    """For a column typed ``N``: any decimal notation (spaces, ``+``, leading zeros allowed),
    sent in DynamoDB's own canonical text."""
    if not _LOOSE_NUMBER_RE.match(text):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not is_dynamodb_number(value):
        return None
    return canonical_number(value)


OMIT = None  # attribute value meaning "leave this attribute out of the item"


class _Mismatch:
    """Sentinel attribute value: the cell does not fit the column's declared type."""

    def __repr__(self) -> str:
        return "<type mismatch>"


MISMATCH: Any = _Mismatch()


def empty_attr(mode: str) -> Optional[Dict[str, Any]]:
    if mode == "omit":
        return OMIT
    if mode == "null":
        return {"NULL": True}
    return {"S": ""}


def type_cell(text: str, kind: str) -> Any:
    """A non-empty cell → low-level attribute value (``{"S": ...}``, ``{"N": ...}``, ...) or MISMATCH."""
    if kind == "S":
        return {"S": text}
    if kind == "N":
        num = strict_number(text)
        return {"N": num} if num is not None else MISMATCH
    if kind == "BOOL":
        low = text.strip().lower()
        if low in _TRUE:
            return {"BOOL": True}
        if low in _FALSE:
            return {"BOOL": False}
        return MISMATCH
    num = auto_number(text)
    return {"N": num} if num is not None else {"S": text}


class TypeCache(dict):
    """Cell text → attribute value for one type kind, memoized (CSV columns repeat a lot).

    Used through ``map(dict.__getitem__, caches, row)`` so the common case runs in C. Cached
    attribute dicts are shared between items: botocore only reads them. Bounded: cleared when
    full, so memory stays flat whatever the file.
    """

    LIMIT = 1 << 14

    def __init__(self, kind: str, empty_mode: str, na_values: Sequence[str] = ()) -> None:
        super().__init__()
        self.kind = kind
        self._empty = empty_attr(empty_mode)
        self._na = frozenset(na_values) | {""}

    def __missing__(self, text: str) -> Any:
        value = self._empty if text in self._na else type_cell(text, self.kind)
        if len(self) >= self.LIMIT:
            self.clear()
        self[text] = value
        return value


def column_kinds(header: HeaderSpec, type_map: Mapping[str, str]) -> List[str]:
    """The type kind of every column. Key columns take their key type (a B key is typed as a
    string here and decoded as a key); ``--type_map`` may not contradict it."""
    unknown = sorted(set(type_map) - set(header.names) - {"*"})
    if unknown:
        raise HeaderError(f"--type_map names column(s) not in the header: {unknown}")
    default = type_map.get("*", "auto")
    kinds = [type_map.get(name, default) for name in header.names]
    key_columns = [(header.id_index, header.keys.partition), (header.sort_index, header.keys.sort)]
    for index, attr in key_columns:
        if index is None or attr is None:
            continue
        kind = "N" if attr.type == "N" else "S"
        declared = type_map.get(header.names[index], kind)
        if declared not in (kind, "auto"):
            raise HeaderError(
                f"--type_map: the key column {header.names[index]!r} is a {attr.type} key, not {declared}"
            )
        kinds[index] = kind
    return kinds


# =============================================================================================
# Item size (DynamoDB accounting: attribute name bytes + value bytes)
# =============================================================================================


def number_size(text: str) -> int:
    """Bytes DynamoDB counts for a number: about 1 byte per 2 significant digits, plus 1."""
    value = Decimal(text)
    if value.is_zero():
        return 1
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    return 1 + (len(digits) + 2) // 2 + (1 if value < 0 else 0)


def attr_size(value: Mapping[str, Any]) -> int:
    if "S" in value:
        return len(value["S"].encode("utf-8", "surrogatepass"))
    if "N" in value:
        return number_size(value["N"])
    if "B" in value:  # base64 text: 3 bytes per 4 characters, less the padding
        text = value["B"]
        return len(text) * 3 // 4 - text.count("=")
    return 1  # BOOL / NULL


# =============================================================================================
# TTL cells: epoch seconds or an ISO date/time, written as an N epoch
# =============================================================================================


def ttl_epoch(text: str, fmt: str) -> Optional[str]:
    """The epoch seconds (an integer, as text) a TTL cell stands for, or None when it is not a date."""
    text = text.strip()
    if fmt == "epoch":
        number = strict_number(text)
        if number is None:
            return None
        return str(int(Decimal(number)))
    try:
        # Python 3.9's fromisoformat (Glue Python shell) does not read a trailing "Z".
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # a naive date/time is read as UTC
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return str(int(parsed.timestamp()))


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode("utf-8")) + attr_size(value) for name, value in item.items())
