"""The validation pass's verdict on every row, carried to the write pass on disk.

Why: an all-or-nothing load reads the file twice, and on a content-hash load each pass hashed every
row (SHA-256 of its canonical text) and put the digest in a dedupe index: about 5 µs per row per
pass, measured on flights. The validation pass already knows each row's fate (kept, with its digest;
a duplicate; rejected), in row order. It writes that here, 17 bytes per row, to a temporary file
(5.7 M rows: 97 MB of disk, no memory: the buffer is 1 MB), and the write pass reads it back
beside the rows instead of hashing and deduping them again. The write pass then needs no dedupe
index either (the largest memory of a load).

Only sound when the write pass reads the very bytes the validation pass read: ``load`` pins it to
the object version the first pass saw, and a different row count fails the load.
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterator

KEEP, DUPLICATE, REJECT = b"k", b"d", b"r"
_WIDTH = 17  # a tag byte and the 16-byte digest (zeros for a duplicate or a reject)
_BLANK = bytes(16)
_FLUSH = 1 << 20


class RowSpool:
    """Written once in row order (``keep``/``duplicate``/``reject``), then ``replay``ed once."""

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="csv2ddb-rows-", suffix=".bin")
        self._file = os.fdopen(fd, "w+b")
        self._buf = bytearray()
        self.rows = 0
        self.complete = False  # set by the pass that recorded every row (the plain loop)

    def keep(self, digest: bytes) -> None:
        buf = self._buf
        buf += KEEP
        buf += digest
        if len(buf) >= _FLUSH:
            self._flush()

    def duplicate(self) -> None:
        self._buf += DUPLICATE + _BLANK

    def reject(self) -> None:
        self._buf += REJECT + _BLANK

    def _flush(self) -> None:
        self._file.write(self._buf)
        self._buf.clear()

    def finish(self, rows: int) -> None:
        """The recording pass saw ``rows`` rows, each of them recorded."""
        self._flush()
        size = self._file.tell()
        if size != rows * _WIDTH:
            raise RuntimeError(f"row spool holds {size} bytes for {rows} rows")
        self.rows = rows
        self.complete = True

    def replay(self) -> Iterator[bytes]:
        """Per row, in order: its 16-byte digest when the validation pass kept it, else ``DUPLICATE``
        or ``REJECT``."""
        self._file.seek(0)
        read = self._file.read
        chunk_bytes = _WIDTH * 65536
        while True:
            chunk = read(chunk_bytes)
            if not chunk:
                return
            for start in range(0, len(chunk), _WIDTH):
                tag = chunk[start : start + 1]
                yield chunk[start + 1 : start + _WIDTH] if tag == KEEP else tag

    def close(self) -> None:
        self._file.close()
        os.unlink(self._path)
