"""The CSV header: validated before anything is written, and where the item key comes from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from csv2ddb_core.contract import ADDED_ATTRIBUTES, HASH_KEY, HeaderError, JobArgs

_NUMERIC_NAME_RE = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
GZIP_MAGIC = "\x1f\udc8b"  # bytes 1f 8b as decoded with errors="surrogateescape"


@dataclass(frozen=True)
class HeaderSpec:
    """The validated header: trimmed column names and where the item's ``id`` comes from."""

    names: Tuple[str, ...]
    id_index: Optional[int]  # None = deterministic hash id

    @property
    def id_source(self) -> str:
        return f"column:{self.names[self.id_index]}" if self.id_index is not None else "hash:sha256-128"


def validate_header(raw: Sequence[str], id_column: str = HASH_KEY) -> HeaderSpec:
    """Trim names; refuse blank or duplicate names and names that collide with added attributes."""
    if not raw:
        raise HeaderError("the file has no header row (it is empty)")
    names = [name.strip() for name in raw]
    if names and names[0].startswith("\ufeff"):  # a BOM the codec did not strip
        names[0] = names[0][1:].strip()
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise HeaderError(f"blank column name(s) in the header at position(s) {blank}")
    seen: Dict[str, int] = {}
    dupes = []
    for i, name in enumerate(names):
        if name in seen:
            dupes.append(f"{name!r} (columns {seen[name] + 1} and {i + 1})")
        seen.setdefault(name, i)
    if dupes:
        raise HeaderError("duplicate column name(s) in the header: " + ", ".join(dupes))
    # Reliability finding F1: a file without a header would have its first data row taken as the
    # header (and that row lost). A column name that is a number is almost always such a row.
    numeric = [n for n in names if _NUMERIC_NAME_RE.match(n)]
    if numeric:
        raise HeaderError(
            f"the first row does not look like a header: column name(s) {numeric} are numbers; "
            "the file needs a header row naming its columns (a column may not be named by a number)"
        )
    clash = [n for n in names if n in ADDED_ATTRIBUTES]
    if clash:
        raise HeaderError(
            f"column(s) {clash} collide with attributes the job adds to every item {list(ADDED_ATTRIBUTES)}"
        )
    id_index = seen.get(id_column)
    if HASH_KEY in seen and id_column != HASH_KEY:
        raise HeaderError(
            f"the file has a column {HASH_KEY!r} but --id_column is {id_column!r}: the item key "
            f"{HASH_KEY!r} would overwrite it (pass --id_column {HASH_KEY} to use that column as the key)"
        )
    return HeaderSpec(names=tuple(names), id_index=id_index)


def header_from(records: Iterator[Tuple[int, List[str]]], args: JobArgs) -> HeaderSpec:
    """The first record, validated as the header (HeaderError before anything is written)."""
    first = next(records, None)
    if first is None:
        raise HeaderError("the file has no header row (it is empty)")
    raw = first[1]
    if raw and raw[0].startswith(GZIP_MAGIC):  # reliability finding F4: say what is wrong
        raise HeaderError(
            "the object is gzip-compressed (it starts with the gzip bytes 1f 8b), not CSV text: "
            "upload it uncompressed"
        )
    joined = "".join(raw)
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            raise HeaderError(f"the header row is not valid {args.encoding}") from None
    return validate_header(raw, args.id_column)
