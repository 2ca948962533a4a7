"""Duplicate keys in one file: an exact duplicate (same key, same cells) is dropped; a conflicting
one (same key, other cells) follows the load's ``--on_conflict`` policy.

Why this exists: a column that happens to be named ``id`` becomes the key by default, and when it
names an order rather than a line, dropping every later row as a "duplicate" loses data quietly
(issue 20: 28,224 of pizzaplace's 49,574 rows). So a later row of a seen key is compared with the
key's FIRST row in the file, by a small content digest kept in the dedupe index (never the row):

- ``reject`` (the default): a conflicting row is rejected ``conflicting_duplicate``, naming the first
  row's line; it counts against the tolerance like any reject.
- ``keep_first``: it is dropped and counted in ``rows_duplicate``.
- ``keep_last``: the key's LAST row is written, every other row of the key counted in
  ``rows_duplicate``; which row is last is learnt in the validation pass (``winners``), so the
  policy needs ``--validate_first``.

Every engine classifies alike: a later row (line after the key's first) is exact when its content
digest equals the first row's, conflicting otherwise. So ``exact + conflicting`` counts later rows:
with ``reject`` ``rows_duplicate = exact``, with ``keep_*`` ``rows_duplicate = exact + conflicting``.
A content-hash id (no key column) is a digest of the row: its duplicates are always exact.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, Optional, Sequence

from csv2ddb_core.contract import (
    ON_CONFLICT_KEEP_LAST,
    ON_CONFLICT_POLICIES,
    ON_CONFLICT_REJECT,
    R_CONFLICTING_DUPLICATE,
    ArgumentError,
    Reject,
)
from csv2ddb_core.keys import DedupeIndex, capacity_bits_for

SEPARATOR = "\x1f"  # the ASCII unit separator: cells are joined with it before hashing
CONTENT_BYTES = 8  # 64-bit content digest: a false "exact" needs a collision between two rows of one key
LINE_BYTES = 8

KEEP = 0  # write this row
DROP = 1  # a duplicate: count it in rows_duplicate


def parse_on_conflict(text: str) -> str:
    """``reject`` (default for empty), ``keep_first`` or ``keep_last``; ArgumentError otherwise."""
    policy = text.strip().lower() or ON_CONFLICT_REJECT
    if policy not in ON_CONFLICT_POLICIES:
        raise ArgumentError(f"--on_conflict must be one of {list(ON_CONFLICT_POLICIES)}, got {text!r}")
    return policy


def check_on_conflict(policy: str, validate_first: bool) -> None:
    """``keep_last`` must know each key's last row before writing its first: the validation pass."""
    if policy == ON_CONFLICT_KEEP_LAST and not validate_first:
        raise ArgumentError(
            "--on_conflict keep_last needs --validate_first true: the validation pass finds each "
            "key's last row before anything is written"
        )


def conflict_reject(first_line: int) -> Reject:
    """The reject of a conflicting later row (``--on_conflict reject``), in every engine's words."""
    return Reject(
        R_CONFLICTING_DUPLICATE,
        f"the key was first seen on line {first_line} with other cells "
        "(--on_conflict reject; keep_first or keep_last to load one of them)",
    )


def key_by_default(key_given: bool, id_index: Optional[int]) -> bool:
    """True when no partition key was named and a column was taken because it bears the default
    key's name (``id``): the manifest says so, since such a column may name an order, not a line."""
    return not key_given and id_index is not None


def content_digest(row: Sequence[str]) -> bytes:
    """8-byte BLAKE2b of the raw cells, unambiguous (a cell holding the separator falls back to
    JSON, so ``["a\\x1fb", "c"]`` and ``["a", "b\\x1fc"]`` differ)."""
    text = SEPARATOR.join(row)
    if text.count(SEPARATOR) != len(row) - 1:
        text = json.dumps(list(row), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=CONTENT_BYTES).digest()


class Duplicates:
    """One pass's in-file dedupe with the conflict policy.

    ``sort(digest, row, line)`` says what to do with a built row: KEEP, DROP, or a Reject.
    ``content``: False for a content-hash id (same key implies same cells), which then costs what the
    plain dedupe cost (16 bytes per key, no content digest). ``winners`` (``keep_last``, write pass):
    the validation pass's ``last_lines``: the line to write for each key that had a conflict.
    ``expected``: how many keys the index will hold, when known (the write pass after a validation
    pass): it is allocated at that size once instead of doubling its way there.
    """

    def __init__(
        self, policy: str, content: bool, winners: Optional[Dict[bytes, int]] = None, expected: int = 0
    ) -> None:
        self.policy = policy
        self.content = content
        payload = CONTENT_BYTES + LINE_BYTES if content else 0
        self.index = DedupeIndex(capacity_bits_for(expected), payload=payload)
        self.exact = 0
        self.conflicting = 0
        self.dropped = 0
        self._keep_last = policy == ON_CONFLICT_KEEP_LAST
        self._reject = policy == ON_CONFLICT_REJECT
        self._winners = winners
        # keep_last, validation pass: the last line of every key that had a conflict.
        self.last_lines: Dict[bytes, int] = {}

    def sort(self, digest: bytes, row: Sequence[str], line: int) -> Any:
        """KEEP, DROP or a ``conflicting_duplicate`` Reject for one built row."""
        if not self.content:
            if self.index.add(digest):
                return KEEP
            self.exact += 1
            self.dropped += 1
            return DROP
        mine = content_digest(row)
        first = self.index.add_payload(digest, mine + line.to_bytes(LINE_BYTES, "little"))
        winners = self._winners
        if first is None:  # the key's first row
            if winners is not None and digest in winners:
                self.dropped += 1
                return DROP
            return KEEP
        conflict = first[:CONTENT_BYTES] != mine
        if conflict:
            self.conflicting += 1
        else:
            self.exact += 1
        if self._keep_last:
            last = self.last_lines
            if digest in last or conflict:
                last[digest] = line
            if winners is not None and winners.get(digest) == line:
                return KEEP
        elif conflict and self._reject:
            return conflict_reject(int.from_bytes(first[CONTENT_BYTES:], "little"))
        self.dropped += 1
        return DROP

    def summary(self) -> Dict[str, Any]:
        """The manifest's ``duplicates``: the policy and the later rows, exact and conflicting."""
        return {"on_conflict": self.policy, "exact": self.exact, "conflicting": self.conflicting}
