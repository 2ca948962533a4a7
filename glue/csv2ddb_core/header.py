"""The CSV header: validated before anything is written, and where the item key comes from."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from csv2ddb_core.contract import ADDED_ATTRIBUTES, DEFAULT_KEYS, HeaderError, JobArgs, KeySchema

_NUMERIC_NAME_RE = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class HeaderSpec:
    """The validated header: trimmed column names and where the item's key comes from."""

    names: Tuple[str, ...]
    id_index: Optional[int]  # the partition key's column; None = deterministic hash id
    keys: KeySchema = DEFAULT_KEYS
    sort_index: Optional[int] = None  # the sort key's column (required when there is a sort key)
    # Columns not written (--drop, --unknown_columns ignore): ``file_names`` are every column of
    # the file by its attribute name, and ``keep`` the positions of ``names`` among them. Rows are
    # read whole: a ragged row is judged on the file's width, and the checks and the content
    # digest of a conflicting duplicate see every cell; the item has only the kept columns.
    file_names: Tuple[str, ...] = ()
    keep: Optional[Tuple[int, ...]] = None

    @property
    def row_names(self) -> Tuple[str, ...]:
        """The names of a row's cells as the reader gives them (every column of the file)."""
        return self.file_names if self.keep is not None else self.names

    @property
    def id_source(self) -> str:
        part = f"column:{self.names[self.id_index]}" if self.id_index is not None else "hash:sha256-128"
        return part if self.sort_index is None else f"{part} + column:{self.names[self.sort_index]}"


def _trimmed(raw: Sequence[str]) -> List[str]:
    names = [name.strip() for name in raw]
    if names and names[0].startswith("\ufeff"):  # a BOM the codec did not strip
        names[0] = names[0][1:].strip()
    return names


def attribute_names(
    names: Sequence[str],
    columns: Sequence[str] = (),
    rename: Optional[Mapping[str, str]] = None,
    unknown_columns: str = "keep",
) -> List[str]:
    """The file's column names as the items' attribute names: a column the declared ``columns``
    do not name refused (``unknown_columns`` refuse), then ``rename`` applied. Keys, types, checks,
    the TTL and version columns all name attributes, so they are matched after this."""
    if columns and unknown_columns == "refuse":
        unknown = [name for name in names if name not in columns]
        if unknown:
            raise HeaderError(
                f"column(s) {unknown} are not among the declared columns {list(columns)} "
                "(unknown_columns: refuse)"
            )
    renames = rename or {}
    missing = sorted(set(renames) - set(names))
    if missing:
        raise HeaderError(f"--rename names column(s) {missing} the file does not have {list(names)}")
    return [renames.get(name, name) for name in names]


def validate_header(raw: Sequence[str], keys: KeySchema = DEFAULT_KEYS) -> HeaderSpec:
    """Trim names; refuse blank or duplicate names and names that collide with added attributes."""
    if not raw:
        raise HeaderError("the file has no header row (it is empty)")
    names = _trimmed(raw)
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
    # A file without a header would have its first data row taken as the
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
    id_index = seen.get(keys.partition.name)
    if id_index is None and keys.partition.type != "S":
        raise HeaderError(
            f"the file has no column {keys.partition.name!r} for the {keys.partition.type} partition key; "
            "only a string (S) partition key can take the content-hash id"
        )
    sort_index = None
    if keys.sort is not None:
        sort_index = seen.get(keys.sort.name)
        if sort_index is None:
            raise HeaderError(f"the file has no column {keys.sort.name!r} for the sort key ({keys.sort})")
    return HeaderSpec(names=tuple(names), id_index=id_index, keys=keys, sort_index=sort_index)


def header_from(records: Iterator[Tuple[int, List[str]]], args: JobArgs) -> HeaderSpec:
    """The first record, validated as the header (HeaderError before anything is written); with
    ``--header false`` the declared ``--columns`` instead, and the first record stays data."""
    if not args.header:
        return _dropping(validate_header(attribute_names(args.columns, rename=args.rename)), args)
    first = next(records, None)
    if first is None:
        raise HeaderError("the file has no header row (it is empty)")
    raw = first[1]
    joined = "".join(raw)
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            raise HeaderError(f"the header row is not valid {args.encoding}") from None
    if args.columns or args.rename:
        raw = attribute_names(_trimmed(raw), args.columns, args.rename, args.unknown_columns)
    return _dropping(validate_header(raw), args)


def _dropping(whole: HeaderSpec, args: JobArgs) -> HeaderSpec:
    """The header of the columns written: ``whole`` (every column, by attribute name) less
    ``--drop`` (named as the file names them) and, with ``--unknown_columns ignore``, the columns
    ``--columns`` does not name; the keys are looked up among what is left."""
    if not args.drop and args.unknown_columns != "ignore":
        return validate_header(whole.names, args.write.keys)
    dropped = {args.rename.get(name, name) for name in args.drop}
    missing = sorted(dropped - set(whole.names))
    if missing:
        raise HeaderError(f"--drop names column(s) {missing} the file does not have {list(whole.names)}")
    if args.unknown_columns == "ignore":
        known = set(attribute_names(args.columns, rename=args.rename))
        dropped |= {name for name in whole.names if name not in known}
    keep = tuple(i for i, name in enumerate(whole.names) if name not in dropped)
    if not keep:
        raise HeaderError(f"every column of the file is dropped {list(whole.names)}: nothing to write")
    kept = validate_header([whole.names[i] for i in keep], args.write.keys)
    return replace(kept, file_names=whole.names, keep=keep)
