"""Item keys: the deterministic content-hash id, key digests, and the in-file dedupe index."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Dict, Optional, Sequence, Tuple, Union

from csv2ddb_core.cells import strict_number
from csv2ddb_core.contract import (
    R_EMPTY_KEY,
    R_INVALID_BINARY_KEY,
    R_INVALID_NUMBER_KEY,
    R_KEY_TOO_LONG,
    KeyAttr,
    Reject,
)


def canonical_row(names: Sequence[str], values: Sequence[str]) -> bytes:
    """UTF-8 of the JSON object {name: raw cell}, keys sorted by code point, no spaces.

    Exactly ``json.dumps(dict(zip(names, values)), sort_keys=True, ensure_ascii=False,
    separators=(",", ":")).encode("utf-8")``: raw cell text, untyped and untrimmed, so the id does
    not depend on --type_map, --empty_cells or --na_values, nor on the column order.
    """
    return json.dumps(
        dict(zip(names, values)), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def row_id(names: Sequence[str], values: Sequence[str]) -> Tuple[str, bytes]:
    """(id, 16-byte dedupe digest): id = first 32 hex chars (128 bits) of sha256(canonical row)."""
    digest = hashlib.sha256(canonical_row(names, values)).digest()[:16]
    return digest.hex(), digest


def key_digest(key: str) -> bytes:
    """16-byte dedupe digest of an id taken from a column."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def capacity_bits_for(count: int, least: int = 16) -> int:
    """The ``DedupeIndex`` size (bits) that holds ``count`` digests without growing: the size its
    doublings would end at, allocated once (no re-insertion, no old and new table side by side)."""
    bits = least
    while count * 10 > (1 << bits) * 7:
        bits += 1
    return bits


class DedupeIndex:
    """Set of 16-byte digests in one flat bytearray (open addressing, linear probing).

    About 16 / 0.7 ≈ 23-46 bytes per row instead of ~100 for a Python ``set`` of bytes, so the
    only memory that grows with the file stays small: 5.6 M rows ≈ 134 MB.

    ``payload`` bytes per slot (``add_payload``) keep a small fixed-size value beside each digest:
    the conflict check keeps the first row's content digest and line there (16 more bytes per
    slot), never the row itself.
    """

    _EMPTY = bytes(16)

    def __init__(self, capacity_bits: int = 16, payload: int = 0) -> None:
        self._bits = capacity_bits
        self._mask = (1 << capacity_bits) - 1
        self._payload = payload
        self._width = 16 + payload
        self._table = bytearray(self._width << capacity_bits)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return len(self._table)

    def add(self, digest: bytes) -> bool:
        """Insert; False when the digest was already present (a duplicate)."""
        if digest == self._EMPTY:  # the all-zero digest marks empty slots; remap it
            digest = b"\x00" * 15 + b"\x01"
        table = self._table
        mask = self._mask
        slot = int.from_bytes(digest[:8], "little") & mask
        while True:
            off = slot << 4
            cur = table[off : off + 16]
            if cur == self._EMPTY:
                table[off : off + 16] = digest
                self._count += 1
                if self._count * 10 > (mask + 1) * 7:
                    self._grow()
                return True
            if cur == digest:
                return False
            slot = (slot + 1) & mask

    def add_payload(self, digest: bytes, payload: bytes) -> Optional[bytes]:
        """Insert ``digest`` with ``payload`` (``payload`` bytes long); None when new, else the
        payload stored with its first insertion (which is kept)."""
        if digest == self._EMPTY:
            digest = b"\x00" * 15 + b"\x01"
        table = self._table
        mask = self._mask
        width = self._width
        slot = int.from_bytes(digest[:8], "little") & mask
        while True:
            off = slot * width
            cur = table[off : off + 16]
            if cur == self._EMPTY:
                table[off : off + width] = digest + payload
                self._count += 1
                if self._count * 10 > (mask + 1) * 7:
                    self._grow()
                return None
            if cur == digest:
                return bytes(table[off + 16 : off + width])
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        """Double the table and re-insert every entry (digest and payload) with ``add``'s probing, in
        place: the same slots ``add`` would give them, without a method call and checks per entry."""
        old = self._table
        width = self._width
        empty = self._EMPTY
        self._bits += 1
        mask = self._mask = (1 << self._bits) - 1
        table = self._table = bytearray(width << self._bits)
        from_bytes = int.from_bytes
        for off in range(0, len(old), width):
            entry = old[off : off + width]
            if entry[:16] == empty:
                continue
            slot = from_bytes(entry[:8], "little") & mask
            while True:
                at = slot * width
                if table[at : at + 16] == empty:
                    table[at : at + width] = entry
                    break
                slot = (slot + 1) & mask


# --- key values of a table's key schema (partition key + optional sort key, S/N/B) ---------


def key_cell(text: str, attr: KeyAttr, max_bytes: int) -> Union[Tuple[Dict[str, str], bytes], Reject]:
    """(attribute value, canonical bytes for dedupe) of one key cell, or the Reject saying why not.

    Canonical bytes compare keys as DynamoDB does: numbers by exact value (``1e3`` = ``1000``), binary
    by the decoded bytes, strings by their UTF-8.
    """
    if not text or text.isspace():
        return Reject(R_EMPTY_KEY, f"the key column {attr.name!r} is empty")
    if attr.type == "S":
        raw = text.encode("utf-8", "surrogatepass")
        value: Dict[str, str] = {"S": text}
    elif attr.type == "N":
        number = strict_number(text)
        if number is None:
            detail = f"{attr.name!r} is an N key and {text[:40]!r} is not a DynamoDB number"
            return Reject(R_INVALID_NUMBER_KEY, detail)
        raw = number.encode()  # canonical: one text per value, at every precision
        value = {"N": number}
    else:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            return Reject(R_INVALID_BINARY_KEY, f"{attr.name!r} is a B key and the cell is not base64")
        if not raw:
            return Reject(R_EMPTY_KEY, f"the binary key column {attr.name!r} decodes to nothing")
        value = {"B": text.strip()}
    if len(raw) > max_bytes:
        return Reject(R_KEY_TOO_LONG, f"key {attr.name!r} is {len(raw)} bytes; DynamoDB allows {max_bytes}")
    return value, raw


def composite_digest(parts: Sequence[Tuple[str, bytes]]) -> bytes:
    """16-byte dedupe digest of a whole key: (type, canonical bytes) per key attribute."""
    digest = hashlib.blake2b(digest_size=16)
    for kind, raw in parts:
        digest.update(kind.encode() + len(raw).to_bytes(4, "big") + raw)
    return digest.digest()
