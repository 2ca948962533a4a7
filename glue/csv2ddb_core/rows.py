"""One parsed CSV row to one low-level DynamoDB item, or a Reject with its reason. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from csv2ddb_core.cells import MISMATCH, OMIT, TypeCache, column_kinds, item_size, strict_number, ttl_epoch
from csv2ddb_core.contract import (
    ATTR_INGESTION_TIMESTAMP,
    ATTR_LOAD_RUN_ID,
    ATTR_SOURCE_FILE,
    MAX_HASH_KEY_BYTES,
    MAX_ITEM_BYTES,
    MAX_RANGE_KEY_BYTES,
    R_EMPTY_KEY,
    R_INVALID_TTL,
    R_INVALID_VERSION,
    R_ITEM_TOO_LARGE,
    R_KEY_TOO_LONG,
    R_RAGGED,
    R_TYPE_MISMATCH,
    R_UNDECODABLE,
    HeaderError,
    Reject,
    TtlSpec,
)
from csv2ddb_core.header import HeaderSpec
from csv2ddb_core.keylist import value_json
from csv2ddb_core.keys import composite_digest, key_cell, key_digest

# (joined cells, key text, partition key value, sort key value, dedupe digest) of a row
_Key = Tuple[str, str, Dict[str, str], Optional[Dict[str, str]], bytes]


# The request body's encoding (writer.BatchWriter): items are trees of dicts, never cycles.
ENCODE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class Item(Dict[str, Any]):
    """A built item: the low-level item dict every writer reads, plus ``json``, the very text
    ``ENCODE_JSON`` makes of it, or None.

    Why: encoding the request body was about 8.5 µs per 19-column flights item (the C encoder
    walking one small dict per attribute), an eighth of the job's client CPU per row. The builder
    already looks every cell up in a per-type cache; a second cache holds each cell's attribute as
    JSON text (``FragmentCache``), so the item's text is a join of cached strings (about half the
    cost), and ``BatchWriter`` joins 25 of them into the body. The dict must not change after
    ``build`` (``json`` would go stale): writers only read items.

    ``key_line``: the item's line of the key list (``keylist.KeyLines``), built from the same key
    text as ``json``, so the key list does not encode each key a second time; None without ``json``.
    """

    __slots__ = ("json", "key_line")
    json: Optional[str]
    key_line: Optional[str]


class FragmentCache(Dict[str, str]):
    """Cell text → the JSON text of its attribute value in ``types`` (``ENCODE_JSON`` of it); "" for
    a cell whose attribute is left out or does not fit the type (never joined). Bounded like
    ``TypeCache``."""

    def __init__(self, types: TypeCache) -> None:
        super().__init__()
        self._types = types

    def __missing__(self, text: str) -> str:
        value = self._types[text]
        fragment = "" if value is OMIT or value is MISMATCH else ENCODE_JSON(value)
        if len(self) >= TypeCache.LIMIT:
            self.clear()
        self[text] = fragment
        return fragment


def canonical_format(sorted_names: Sequence[str], quoted: bool = False) -> str:
    """A ``%`` template of the canonical row (``keys.canonical_row``) for cells in name order.

    Filled with cells escaped by ``json.encoder.encode_basestring`` (the escaper ``json.dumps``
    uses with ``ensure_ascii=False``), it is the very text ``json.dumps`` makes, for less CPU: no
    dict and no encoder per row, the names escaped once per file. ``quoted``: the template of cells
    that need no escaping (``needs_no_escape``), filled with the raw cells (the quotes are in it).
    """
    slot = ':"%s"' if quoted else ":%s"
    fields = (encode_basestring(name).replace("%", "%%") + slot for name in sorted_names)
    return "{" + ",".join(fields) + "}"


def needs_no_escape(text: str) -> bool:
    """Whether ``encode_basestring`` leaves every cell of ``text`` (a row's joined cells) as it is,
    only quoted: no control character, quote or backslash (all it escapes with ensure_ascii off).
    ``isprintable`` is stricter (it also refuses e.g. U+00A0): such rows take the escaping path."""
    return text.isprintable() and '"' not in text and "\\" not in text


class RowBuilder:
    """Turns one parsed CSV row into a low-level DynamoDB item (or a Reject). Pure: no I/O."""

    def __init__(
        self,
        header: HeaderSpec,
        *,
        source_file: str,
        run_id: str,
        ingestion_timestamp: str,
        type_map: Optional[Mapping[str, str]] = None,
        empty_cells: str = "omit",
        na_values: Sequence[str] = (),
        ttl: Optional[TtlSpec] = None,
        version_column: str = "",
    ) -> None:
        self.header = header
        self.names = header.names
        self.width = len(header.names)
        kinds = column_kinds(header, type_map or {})
        shared: Dict[str, TypeCache] = {}
        for kind in set(kinds):
            shared[kind] = TypeCache(kind, empty_cells, na_values)
        self._caches = [shared[k] for k in kinds]
        fragments = {kind: FragmentCache(cache) for kind, cache in shared.items()}
        self._fragments = [fragments[k] for k in kinds]
        self._prefixes = [encode_basestring(name) + ":" for name in header.names]
        self._strict = any(k in ("N", "BOOL") for k in kinds)
        self._omit = empty_cells == "omit"
        self._na = frozenset(na_values) | {""}
        self._na_list = tuple(self._na)
        self._base = {
            ATTR_INGESTION_TIMESTAMP: {"S": ingestion_timestamp},
            ATTR_SOURCE_FILE: {"S": source_file},
            ATTR_LOAD_RUN_ID: {"S": run_id},
        }
        keys = header.keys
        key_names = sum(len(a.name.encode("utf-8")) for a in keys.attrs)
        fixed = sum(len(k) + len(v["S"].encode("utf-8")) for k, v in self._base.items()) + key_names
        self._size_overhead = fixed + sum(len(n.encode("utf-8")) for n in self.names)
        # ``_may_be_too_large`` as a bound on the row's characters, compared inline per row.
        self._size_slack = (MAX_ITEM_BYTES - self._size_overhead - 22 * self.width) / 4
        self._id_index = header.id_index
        self._part = keys.partition
        self._sort = keys.sort
        self._sort_index = header.sort_index
        # The common shape (one S partition key, nothing else) takes the shortest path per row.
        self._simple = keys.sort is None and keys.partition.type == "S"
        self._ttl = ttl
        self._ttl_index = self._column(ttl.column, "--ttl_column") if ttl else None
        self._version = version_column
        self._version_index = self._column(version_column, "--version_column") if version_column else None
        self._json = self._json_plan()
        # Typed cells, a TTL or a version can reject a row with a good key: checked on the built item.
        self._needs_item = self._strict or self._ttl_index is not None or self._version_index is not None
        order = sorted(range(self.width), key=self.names.__getitem__)
        getter = itemgetter(*order)
        self._sorted_cells: Callable[[Sequence[str]], Any] = (
            getter if self.width > 1 else (lambda r: (getter(r),))
        )
        self._canonical_format = canonical_format([self.names[i] for i in order])
        self._quoted_format = canonical_format([self.names[i] for i in order], quoted=True)
        # What the reader's rows go through: as they are, or (columns dropped) judged on the file's
        # width and cut to the kept columns first. Bound once, so a load dropping nothing pays nothing.
        self.build: Callable[[List[str]], Tuple[Any, Optional[bytes]]] = self._build
        self.verdict: Callable[[List[str]], Tuple[Optional[Reject], Optional[bytes]]] = self._verdict
        self.build_carried: Callable[[List[str], bytes], Tuple[Any, Optional[bytes]]] = self._build_carried
        if header.keep is not None:
            self._file_width = len(header.file_names)
            pick = itemgetter(*header.keep)
            self._pick: Callable[[List[str]], Any] = pick if len(header.keep) > 1 else (lambda r: (pick(r),))
            self.build = self._build_kept
            self.verdict = self._verdict_kept
            self.build_carried = self._build_carried_kept

    def _json_plan(self) -> bool:
        """Whether ``build`` writes each item's JSON text (``Item.json``), and its fixed parts.

        Only where the item's attribute order follows from the header alone: a TTL or a version
        attribute leaves it to the writer's encoder (``json`` None); so would a column named like
        one of the attributes the job adds, which the header refuses today."""
        names = set(self.names)
        if self._ttl is not None or self._version or names & set(self._base):
            return False
        self._base_json = ",".join(ENCODE_JSON(k) + ":" + ENCODE_JSON(v) for k, v in self._base.items())
        # Every column's attribute, then the job's: one ``%`` template (names escaped once per file).
        pairs = ",".join(prefix.replace("%", "%%") + "%s" for prefix in self._prefixes)
        self._row_format = "{" + pairs + ("," if pairs else "") + self._base_json.replace("%", "%%")
        slots = [(self._part.name, self._id_index)]
        if self._sort is not None:
            slots.append((self._sort.name, self._sort_index))
        # (column index or None, "name": text) of each key attribute: set in place when its column
        # made an attribute, else added after the job's attributes (as the dict gets them).
        self._key_slots = [(index, encode_basestring(name) + ":") for name, index in slots]
        # The key list's line (``keylist.KeyLines``: names sorted) of the same key texts, in slot order.
        order = sorted(range(len(slots)), key=lambda i: slots[i][0])
        fields = (encode_basestring(slots[i][0]).replace("%", "%%") + ":%s" for i in order)
        self._key_line_format = "{" + ",".join(fields) + "}\n"
        self._key_line_order = order if order != list(range(len(slots))) else None
        # A content-hash key alone is hex: its text needs no escaping (``value_json`` of {"S": hex}),
        # and it is no column of the file, so it always follows the job's attributes.
        self._hex_key = self._id_index is None and self._sort is None
        self._hex_tail = "," + self._key_slots[0][1]
        self._hex_line = "{" + self._key_slots[0][1]
        return True

    def _item_json(
        self,
        fragments: List[str],
        attrs: List[Any],
        omitted: bool,
        key: str,
        part: Dict[str, str],
        sort: Optional[Dict[str, str]],
    ) -> Tuple[str, str]:
        """The item's JSON text, as ``ENCODE_JSON`` writes the dict ``_build`` made of the same row
        (``fragments``: each cell's attribute text, "" where it is left out), and its key-list line."""
        if self._hex_key:  # the content-hash id alone: hex, and never a column (added after the job's)
            text = '{"S":"' + key + '"}'
            tail = self._hex_tail + text
            line = self._hex_line + text + "}\n"
        else:
            texts = [value_json(part)] if sort is None else [value_json(part), value_json(sort)]
            tail = ""
            for (index, prefix), text in zip(self._key_slots, texts):
                if index is not None and attrs[index] is not OMIT:
                    fragments[index] = text
                else:
                    tail += "," + prefix + text
            order = self._key_line_order
            line = self._key_line_format % (tuple(texts) if order is None else tuple(texts[i] for i in order))
        if not omitted:
            return self._row_format % tuple(fragments) + tail + "}", line
        text = ",".join([p + f for p, f in zip(self._prefixes, fragments) if f])
        return "{" + text + ("," if text else "") + self._base_json + tail + "}", line

    def _column(self, name: str, what: str) -> int:
        if name not in self.names:
            raise HeaderError(f"{what} {name!r} is not a column of the file {list(self.names)}")
        return self.names.index(name)

    def _key(self, row: List[str]) -> Union[Reject, _Key]:
        """The row's checks up to its key: a Reject (ragged, undecodable, bad key), or its key."""
        if len(row) != self.width:
            return Reject(R_RAGGED, f"expected {self.width} fields, got {len(row)}")
        joined = "".join(row)
        if not joined.isascii():
            try:
                joined.encode("utf-8")
            except UnicodeEncodeError as exc:
                return Reject(
                    R_UNDECODABLE, f"bytes not valid in the source encoding at field offset {exc.start}"
                )
        if self._id_index is None:
            # == row_id(): the canonical row's text, its names escaped and sorted once (canonical_format);
            # most rows need no cell escaped (about 1 µs of the ~3 µs the id costs on flights)
            if needs_no_escape(joined):
                text = self._quoted_format % self._sorted_cells(row)
            else:
                text = self._canonical_format % tuple(map(encode_basestring, self._sorted_cells(row)))
            digest = hashlib.sha256(text.encode()).digest()[:16]
            key = digest.hex()
            part: Dict[str, str] = {"S": key}
            part_raw = digest
        elif self._simple:
            key = row[self._id_index]
            if not key or key.isspace():  # blank = no key: rejected, never written under ""
                return Reject(R_EMPTY_KEY, self._empty_key_detail(row))
            if len(key) > MAX_HASH_KEY_BYTES // 4 and len(key.encode("utf-8")) > MAX_HASH_KEY_BYTES:
                return Reject(
                    R_KEY_TOO_LONG,
                    f"key is {len(key.encode('utf-8'))} bytes; DynamoDB allows {MAX_HASH_KEY_BYTES}",
                )
            digest = key_digest(key)
            part = {"S": key}
            part_raw = b""
        else:
            got = key_cell(row[self._id_index], self._part, MAX_HASH_KEY_BYTES)
            if isinstance(got, Reject):
                if got.reason == R_EMPTY_KEY:
                    got = Reject(R_EMPTY_KEY, self._empty_key_detail(row))
                return got
            part, part_raw = got
            key = ""
            digest = b""
        sort: Optional[Dict[str, str]] = None
        if self._sort is not None:
            assert self._sort_index is not None
            got = key_cell(row[self._sort_index], self._sort, MAX_RANGE_KEY_BYTES)
            if isinstance(got, Reject):
                if got.reason == R_EMPTY_KEY:
                    got = Reject(R_EMPTY_KEY, self._empty_key_detail(row))
                return got
            sort, sort_raw = got
            digest = composite_digest([(self._part.type, part_raw), (self._sort.type, sort_raw)])
        elif not self._simple and self._id_index is not None:
            digest = composite_digest([(self._part.type, part_raw)])
        return joined, key, part, sort, digest

    def _file_ragged(self, row: List[str]) -> Optional[Reject]:
        if len(row) != self._file_width:
            return Reject(R_RAGGED, f"expected {self._file_width} fields, got {len(row)}")
        return None

    def _build_kept(self, row: List[str]) -> Tuple[Any, Optional[bytes]]:
        ragged = self._file_ragged(row)
        return (ragged, None) if ragged is not None else self._build(self._pick(row))

    def _verdict_kept(self, row: List[str]) -> Tuple[Optional[Reject], Optional[bytes]]:
        ragged = self._file_ragged(row)
        return (ragged, None) if ragged is not None else self._verdict(self._pick(row))

    def _build(self, row: List[str]) -> Tuple[Any, Optional[bytes]]:
        """(item, dedupe digest) for a good row, or (Reject, None)."""
        got = self._key(row)
        if isinstance(got, Reject):
            return got, None
        return self._finish(row, got)

    def _build_carried(self, row: List[str], digest: bytes) -> Tuple[Any, Optional[bytes]]:
        """``build`` of a row the validation pass kept, given the content-hash digest it computed
        there (``carry.RowSpool``): the same item, without hashing the row a second time. Only for a
        load whose id is the content hash (``carries``); the row passed every key check already."""
        key = digest.hex()
        return self._finish(row, ("".join(row), key, {"S": key}, None, digest))

    def _build_carried_kept(self, row: List[str], digest: bytes) -> Tuple[Any, Optional[bytes]]:
        return self._build_carried(self._pick(row), digest)

    @property
    def carries(self) -> bool:
        """Whether the validation pass's digests can stand for the write pass's keys: the id is the
        content hash (its digest is the id; any other key is typed from its cell)."""
        return self._id_index is None

    def _finish(self, row: List[str], got: _Key) -> Tuple[Any, Optional[bytes]]:
        """The item of a row whose key ``_key`` gave (or the Reject its cells earn)."""
        joined, key, part, sort, digest = got
        attrs = list(map(dict.__getitem__, self._caches, row))
        if self._strict and MISMATCH in attrs:
            bad = [self.names[i] for i, a in enumerate(attrs) if a is MISMATCH]
            return Reject(R_TYPE_MISMATCH, f"value does not fit the declared type of column(s) {bad}"), None
        fragments: Optional[List[str]] = None
        if self._json:
            fragments = list(map(dict.__getitem__, self._fragments, row))
            # A left-out attribute is the only "" left (MISMATCH was rejected above): no second scan.
            omitted = "" in fragments
        else:
            omitted = self._omit and any(map(self._na.__contains__, row))
        if omitted:
            item = Item((n, a) for n, a in zip(self.names, attrs) if a is not OMIT)
        else:
            item = Item(zip(self.names, attrs))
        item.update(self._base)
        item[self._part.name] = part
        if sort is not None:
            item[self._sort.name] = sort  # type: ignore[union-attr]
        if fragments is not None:
            item.json, item.key_line = self._item_json(fragments, attrs, omitted, key, part, sort)
        else:
            item.json = item.key_line = None
        if self._ttl_index is not None or self._version_index is not None:
            problem = self._extras(row, item)
            if problem is not None:
                return problem, None
        if len(joined) + len(key) > self._size_slack:  # _may_be_too_large, inline (every row)
            size = item_size(item)
            if size > MAX_ITEM_BYTES:
                return Reject(
                    R_ITEM_TOO_LARGE, f"item is {size} bytes; DynamoDB allows {MAX_ITEM_BYTES}"
                ), None
        return item, digest

    def _verdict(self, row: List[str]) -> Tuple[Optional[Reject], Optional[bytes]]:
        """What ``build`` decides for ``row``, without the item when only the key can fail it:
        (None, dedupe digest) for a good row, or (Reject, None). The validation pass needs no items,
        and on a file of auto-typed columns this skips typing every cell."""
        got = self._key(row)
        if isinstance(got, Reject):
            return got, None
        joined, key, _part, _sort, digest = got
        if self._needs_item or self._may_be_too_large(joined, key):
            item, built = self._finish(row, got)
            return (item, None) if built is None else (None, built)
        return None, digest

    def _may_be_too_large(self, joined: str, key: str) -> bool:
        """An upper bound of the item's size over 400 KB: only then is its exact size computed.
        (Every character at most 4 UTF-8 bytes, every attribute's type and framing at most 22.)"""
        return len(joined) + len(key) > self._size_slack

    def _empty_key_detail(self, row: Sequence[str]) -> str:
        columns = [
            (self._id_index, self._part.name),
            (self._sort_index, self._sort.name if self._sort else ""),
        ]
        empty = [name for index, name in columns if index is not None and not row[index].strip()]
        if len(empty) == 2:
            return f"both key columns {empty[0]!r} and {empty[1]!r} are empty"
        return f"the key column {empty[0]!r} is empty" if empty else "the key is empty"

    def _extras(self, row: Sequence[str], item: Dict[str, Any]) -> Optional[Reject]:
        """The TTL attribute (an N epoch) and the version attribute (an N), or why the row fails."""
        if self._ttl_index is not None:
            assert self._ttl is not None
            cell = row[self._ttl_index]
            if cell.strip():
                epoch = ttl_epoch(cell, self._ttl.format)
                if epoch is None:
                    detail = (
                        f"TTL column {self._ttl.column!r}: {cell[:40]!r} is not a {self._ttl.format} date"
                    )
                    return Reject(R_INVALID_TTL, detail)
                item[self._ttl.column] = {"N": epoch}
        if self._version_index is not None:
            cell = row[self._version_index]
            number = strict_number(cell) if cell.strip() else None
            if number is None:
                detail = f"version column {self._version!r}: {cell[:40]!r} is not a number to compare"
                return Reject(R_INVALID_VERSION, detail)
            item[self._version] = {"N": number}
        return None
