"""Reading the S3 object as a resumable stream of CSV records (memory flat whatever the size)."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import logging
import random
import time
import zlib
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Tuple, Type, cast

import botocore.exceptions

from csv2ddb_core.contract import CSV_FIELD_LIMIT, JobError

LOG = logging.getLogger("csv2ddb.load")

_STREAM_ERRORS: Tuple[Type[BaseException], ...] = (botocore.exceptions.BotoCoreError, OSError)
try:  # urllib3 is a botocore dependency; its read errors are not always wrapped by botocore
    import urllib3.exceptions

    _STREAM_ERRORS = (*_STREAM_ERRORS, urllib3.exceptions.HTTPError)
except ImportError:  # pragma: no cover - botocore always ships with urllib3
    LOG.debug("urllib3 not importable; relying on botocore's exception wrapping")


def version_pin(version_id: Optional[str], etag: str) -> Dict[str, str]:
    """GetObject arguments that pin a read to one version of the object."""
    return {"VersionId": version_id} if version_id else {"IfMatch": f'"{etag}"'}


class S3ObjectStream(io.RawIOBase):
    """A raw binary stream over one S3 object version that resumes after a dropped connection.

    A long load reads slowly (writes are the bottleneck), so the GET may be cut; we re-open at
    the current offset with ``Range`` pinned to the same version (VersionId, else IfMatch ETag),
    a bounded number of times.

    Without ``pin``, the first GET reads the current version and learns it (``etag``,
    ``version_id``, ``size``): the Python shell's one pass. With ``pin`` (``version_pin``) every GET
    reads that version: the tasks of a parallel load all read the version the driver saw. ``start``
    and ``end`` (exclusive; default: the end of the object) select a byte range, read with ranged
    GETs; an empty range sends no GET at all.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        max_reopens: int = 5,
        *,
        start: int = 0,
        end: Optional[int] = None,
        pin: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__()
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._max_reopens = max_reopens
        self._range_end = end
        self._pin = pin
        self.reopens = 0
        self.pos = start
        self.etag = ""
        self.version_id: Optional[str] = None
        self.size: int = 0 if end is None else end
        self.end: int = self.size
        self._body: Any = None
        if end is not None and end <= start:
            return
        resp = self._open()
        if pin is None:
            self.etag = resp.get("ETag", "").strip('"')
            self.version_id = resp.get("VersionId") or None
            self._pin = version_pin(self.version_id, self.etag)
        self.size = _object_size(resp)
        self.end = self.size if end is None else end

    def readable(self) -> bool:
        return True

    def _open(self) -> Dict[str, Any]:
        """GET from the current offset (no ``Range`` for a whole object read from byte 0)."""
        extra: Dict[str, str] = dict(self._pin or {})
        if self.pos or self._range_end is not None:
            last = "" if self._range_end is None else str(self._range_end - 1)
            extra["Range"] = f"bytes={self.pos}-{last}"
        resp = self._s3.get_object(Bucket=self._bucket, Key=self._key, **extra)
        self._body = resp["Body"]
        if self.pos and not str(resp.get("ContentRange", "")).startswith(f"bytes {self.pos}-"):
            # The server sent the whole object (ministack ignores Range when VersionId is given;
            # S3 honours both): skip to our offset rather than read the wrong bytes.
            LOG.warning("the range request was answered with the whole object: skipping %d bytes", self.pos)
            skip = self.pos
            while skip:
                chunk = self._body.read(min(skip, 1 << 20))
                if not chunk:
                    raise JobError(f"s3://{self._bucket}/{self._key} ended before byte {self.pos}")
                skip -= len(chunk)
        return resp

    def readinto(self, buffer: Any) -> int:
        if self._body is None or self.pos >= self.end:
            return 0
        want = min(len(buffer), self.end - self.pos)
        while True:
            try:
                data = self._body.read(want)
                break
            except _STREAM_ERRORS as exc:
                self.reopens += 1
                if self.reopens > self._max_reopens:
                    raise JobError(
                        f"reading s3://{self._bucket}/{self._key} failed at byte {self.pos} after "
                        f"{self._max_reopens} re-opens: {exc}"
                    ) from exc
                LOG.warning("read of the source broke at byte %d (%s); re-opening there", self.pos, exc)
                time.sleep(min(2.0**self.reopens, 30.0) * random.random())
                self._open()
        n = len(data)
        if n == 0:  # the body ended before self.end: the connection closed early
            self.reopens += 1
            if self.reopens > self._max_reopens:
                raise JobError(f"s3://{self._bucket}/{self._key} ended at byte {self.pos} of {self.end}")
            self._open()
            return self.readinto(buffer)
        buffer[:n] = data
        self.pos += n
        return n

    def close(self) -> None:
        try:
            if self._body is not None:
                self._body.close()
        finally:
            super().close()


def _object_size(resp: Dict[str, Any]) -> int:
    """The object's size from a GET answer: after the ``/`` of a ranged answer's ``Content-Range``,
    else its ``Content-Length`` (a whole-object answer, also to a ranged GET a server ignored)."""
    total = str(resp.get("ContentRange", "")).rpartition("/")[2]
    return int(total) if total.isdigit() else int(resp.get("ContentLength", 0))


GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"


def decompressed(raw: io.RawIOBase) -> Tuple[IO[bytes], str]:
    """The object's bytes, decompressed while streaming when they start with the gzip or bzip2
    magic (whatever the key's suffix says): ``(stream, "gzip" | "bzip2" | "none")``. No temp file:
    memory stays flat for compressed input too."""
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    head = buffered.peek(3)[:3]
    if head[:2] == GZIP_MAGIC:
        return cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb")), "gzip"
    if head == BZIP2_MAGIC:
        return bz2.BZ2File(buffered, mode="rb"), "bzip2"
    return buffered, "none"


def text_stream(raw: io.RawIOBase, encoding: str) -> io.TextIOWrapper:
    """Decode with ``surrogateescape``: a bad byte becomes a lone surrogate in ITS row (which is
    then rejected as undecodable) instead of an exception that would end the whole load. A UTF-8
    BOM is stripped by decoding as ``utf-8-sig``. Compressed objects are decompressed first."""
    return open_text(raw, encoding)[0]


def open_text(raw: io.RawIOBase, encoding: str) -> Tuple[io.TextIOWrapper, str]:
    """(text stream, compression) of ``raw``; see :func:`text_stream`."""
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    binary, compression = decompressed(raw)
    text = io.TextIOWrapper(binary, encoding=codec, errors="surrogateescape", newline="")
    return text, compression


# Stands in for NUL while the csv module parses (see NulEscaper). surrogateescape decoding only
# ever produces U+DC80..U+DCFF and valid text no surrogate at all, so U+DC00 cannot collide.
NUL_MARK = "\udc00"


class NulEscaper:
    """Feeds lines to ``csv.reader`` with NUL replaced by ``NUL_MARK``.

    Python 3.9's csv module -- Glue Python shell's runtime -- raises "line contains NUL" and would
    fail the whole load, while 3.11 keeps the character. NUL is valid UTF-8 and DynamoDB strings
    may hold it, so the job keeps it on every runtime: escape before parsing, restore after.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = lines
        self.seen_nul = False

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            if "\x00" in line:
                self.seen_nul = True
                line = line.replace("\x00", NUL_MARK)
            yield line


def read_records(
    text: Iterable[str],
    delimiter: str,
    first_line: int = 1,
    last_line: Optional[int] = None,
    quotechar: str = '"',
) -> Iterator[Tuple[int, List[str]]]:
    """(first physical line number, cells) per CSV record; blank lines are skipped (no data).

    A parallel load reads a split of the file: ``first_line`` is the number of the text's first
    line, and no record starting after ``last_line`` is parsed (it is the next split's).
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    escaper = NulEscaper(text)
    # strict=True: in the default mode the csv module silently closes a
    # quote left open at the end of the file, swallowing every later row into one cell; strict
    # mode raises instead, and the load fails naming the line.
    reader = csv.reader(escaper, delimiter=delimiter, quotechar=quotechar, strict=True)
    base = first_line - 1
    line = 0
    while True:
        start = line + 1
        if last_line is not None and base + start > last_line:
            return
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise JobError(
                f"malformed CSV at line {base + reader.line_num} (record starting at line "
                f"{base + start}): {exc}; an unbalanced quote is the usual cause"
            ) from exc
        except (EOFError, OSError, zlib.error) as exc:  # the reader's own S3 errors are JobErrors
            raise JobError(
                f"the object could not be decompressed after line {base + line}: {exc} "
                "(a truncated or corrupt gzip/bzip2 file)"
            ) from exc
        line = reader.line_num
        if row:
            if escaper.seen_nul:
                row = [cell.replace(NUL_MARK, "\x00") for cell in row]
            yield base + start, row
