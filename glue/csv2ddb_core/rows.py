"""One parsed CSV row to one low-level DynamoDB item, or a Reject with its reason. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from csv2ddb_core.cells import MISMATCH, OMIT, TypeCache, column_kinds, item_size
from csv2ddb_core.contract import (
    ATTR_INGESTION_TIMESTAMP,
    ATTR_LOAD_RUN_ID,
    ATTR_SOURCE_FILE,
    HASH_KEY,
    MAX_HASH_KEY_BYTES,
    MAX_ITEM_BYTES,
    R_EMPTY_KEY,
    R_ITEM_TOO_LARGE,
    R_KEY_TOO_LONG,
    R_RAGGED,
    R_TYPE_MISMATCH,
    R_UNDECODABLE,
)
from csv2ddb_core.header import HeaderSpec
from csv2ddb_core.keys import key_digest


@dataclass
class Reject:
    reason: str
    detail: str


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
    ) -> None:
        self.header = header
        self.names = header.names
        self.width = len(header.names)
        kinds = column_kinds(header, type_map or {})
        shared: Dict[str, TypeCache] = {}
        for kind in set(kinds):
            shared[kind] = TypeCache(kind, empty_cells, na_values)
        self._caches = [shared[k] for k in kinds]
        self._strict = any(k in ("N", "BOOL") for k in kinds)
        self._omit = empty_cells == "omit"
        self._na = frozenset(na_values) | {""}
        self._na_list = tuple(self._na)
        self._base = {
            ATTR_INGESTION_TIMESTAMP: {"S": ingestion_timestamp},
            ATTR_SOURCE_FILE: {"S": source_file},
            ATTR_LOAD_RUN_ID: {"S": run_id},
        }
        fixed = sum(len(k) + len(v["S"].encode("utf-8")) for k, v in self._base.items()) + len(HASH_KEY)
        self._size_overhead = fixed + sum(len(n.encode("utf-8")) for n in self.names)
        self._id_index = header.id_index
        order = sorted(range(self.width), key=self.names.__getitem__)
        self._sorted_names = [self.names[i] for i in order]
        getter = itemgetter(*order)
        self._sorted_cells: Callable[[Sequence[str]], Any] = (
            getter if self.width > 1 else (lambda r: (getter(r),))
        )
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def build(self, row: List[str]) -> Tuple[Any, Optional[bytes]]:
        """(item, dedupe digest) for a good row, or (Reject, None)."""
        if len(row) != self.width:
            return Reject(R_RAGGED, f"expected {self.width} fields, got {len(row)}"), None
        joined = "".join(row)
        if not joined.isascii():
            try:
                joined.encode("utf-8")
            except UnicodeEncodeError as exc:
                return Reject(
                    R_UNDECODABLE, f"bytes not valid in the source encoding at field offset {exc.start}"
                ), None
        if self._id_index is None:
            # == row_id(): names pre-sorted once, so no per-row sort (see canonical_row).
            digest = hashlib.sha256(
                self._encode(dict(zip(self._sorted_names, self._sorted_cells(row)))).encode()
            )
            digest = digest.digest()[:16]
            key = digest.hex()
        else:
            key = row[self._id_index]
            if not key or key.isspace():  # blank = no key (reliability finding F3)
                return Reject(R_EMPTY_KEY, f"the key column {self.names[self._id_index]!r} is empty"), None
            if len(key) > MAX_HASH_KEY_BYTES // 4 and len(key.encode("utf-8")) > MAX_HASH_KEY_BYTES:
                return Reject(
                    R_KEY_TOO_LONG,
                    f"key is {len(key.encode('utf-8'))} bytes; DynamoDB allows {MAX_HASH_KEY_BYTES}",
                ), None
            digest = key_digest(key)
        attrs = list(map(dict.__getitem__, self._caches, row))
        if self._strict and MISMATCH in attrs:
            bad = [self.names[i] for i, a in enumerate(attrs) if a is MISMATCH]
            return Reject(R_TYPE_MISMATCH, f"value does not fit the declared type of column(s) {bad}"), None
        if self._omit and any(map(self._na.__contains__, row)):
            item = {n: a for n, a in zip(self.names, attrs) if a is not OMIT}
        else:
            item = dict(zip(self.names, attrs))
        item.update(self._base)
        item[HASH_KEY] = {"S": key}
        if self._size_overhead + 4 * (len(joined) + len(key)) + 22 * self.width > MAX_ITEM_BYTES:
            size = item_size(item)
            if size > MAX_ITEM_BYTES:
                return Reject(
                    R_ITEM_TOO_LARGE, f"item is {size} bytes; DynamoDB allows {MAX_ITEM_BYTES}"
                ), None
        return item, digest
