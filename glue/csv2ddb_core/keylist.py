"""The key list: every key a load wrote, so verification and rollback cost what the load cost.

Format (``manifests/<run>.keys.jsonl.gz``, documented in docs/glue-job.md): gzip'd UTF-8 text,
one line per written item, each line the item's key in DynamoDB JSON with sorted attribute
names and no spaces, e.g. ``{"id":{"S":"k1"}}``. Lines are in write-confirmation order (not
sorted). The manifest records ``keys_location``, ``keys_count`` and ``keys_sha256`` (SHA-256 of
the stored gzip bytes), so a reader can prove it got the whole list.

Spooled to a temporary file as writes are confirmed (memory stays flat), uploaded at the end of
the load, also after a failure: the keys of a half-written load are what a rollback needs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
import threading
from json.encoder import encode_basestring
from typing import Any, Dict, Iterator, List, Mapping, Sequence, Tuple

from csv2ddb_core.contract import KEYS_SUFFIX, ManifestError
from csv2ddb_core.uploads import put_file

# One encoder for every key line: ``json.dumps`` with these options builds a new encoder per call.
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def key_line(item: Mapping[str, Any], key_names: Sequence[str]) -> str:
    """The key of ``item`` (a low-level item) as one canonical JSON line (without newline)."""
    return _ENCODE({name: item[name] for name in key_names})


class KeyLines:
    """``key_line`` + newline for many items at once: the key names escaped and sorted once, each
    item's key values encoded alone and set into a ``%`` template of the line (the same text)."""

    def __init__(self, key_names: Sequence[str]) -> None:
        self.names = sorted(key_names)
        fields = (encode_basestring(name).replace("%", "%%") + ":%s" for name in self.names)
        self._format = "{" + ",".join(fields) + "}\n"

    def text(self, items: Sequence[Mapping[str, Any]]) -> str:
        """The lines of ``items``: the builder's items carry theirs (``rows.Item.key_line``, the same
        text, made beside the item's JSON), any other item is encoded here."""
        try:
            return "".join([item.key_line for item in items])  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # a plain dict (a retry's item from DynamoDB), or no line
            return self.encoded(items)

    def encoded(self, items: Sequence[Mapping[str, Any]]) -> str:
        """The lines of ``items``, each key value encoded here."""
        fmt, names, encode = self._format, self.names, value_json
        if len(names) == 1:
            name = names[0]
            return "".join([fmt % encode(item[name]) for item in items])
        return "".join([fmt % tuple([encode(item[n]) for n in names]) for item in items])


def value_json(value: Mapping[str, Any]) -> str:
    """One attribute value as compact JSON: ``{"S":"k1"}``. A key value has one type and its text,
    so it is written from json's own string escaper, without an encoder object per key."""
    if len(value) == 1:
        for kind, text in value.items():
            if type(text) is str:
                return "{" + encode_basestring(kind) + ":" + encode_basestring(text) + "}"
    return _ENCODE(value)


class KeyListWriter:
    """Appends confirmed keys from any writer thread; ``upload`` stores the list and says where."""

    def __init__(self, key_names: Sequence[str]) -> None:
        self.key_names = tuple(key_names)
        self._lines = KeyLines(self.key_names)
        fd, self._path = tempfile.mkstemp(prefix="csv2ddb-keys-", suffix=KEYS_SUFFIX)
        os.close(fd)
        # Kept open for the whole load; close() closes and deletes it. mtime=0: same keys, same bytes.
        self._gzip = gzip.GzipFile(self._path, "wb", compresslevel=6, mtime=0)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, items: Sequence[Mapping[str, Any]]) -> None:
        if not items:
            return
        text = self._lines.text(items).encode("utf-8", "surrogatepass")
        with self._lock:
            self._gzip.write(text)
            self.count += len(items)

    def upload(self, s3: Any, bucket: str, key: str) -> Dict[str, Any]:
        """Finish the gzip stream, upload it; the manifest's ``keys_*`` fields."""
        with self._lock:
            self._gzip.close()
            digest = hashlib.sha256()
            with open(self._path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            put_file(s3, self._path, bucket, key, "application/gzip")
        return {
            "keys_location": f"s3://{bucket}/{key}",
            "keys_count": self.count,
            "keys_sha256": digest.hexdigest(),
        }

    def close(self) -> None:
        with self._lock:
            if not self._gzip.closed:
                self._gzip.close()
        os.unlink(self._path)


def parse_s3_uri(uri: str) -> Tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ManifestError(f"not an s3://bucket/key location: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def read_key_list(s3: Any, manifest: Mapping[str, Any], where: str) -> List[Dict[str, Any]]:
    """Every key of the load's list, after proving it is the whole list the manifest describes.

    A missing, truncated or altered list (count or SHA-256 differ) raises ManifestError: a
    verification must never pass on a partial list.
    """
    location = manifest.get("keys_location")
    count = manifest.get("keys_count")
    expected_sha = manifest.get("keys_sha256")
    if not location or type(count) is not int or not expected_sha:
        raise ManifestError(f"manifest {where} has no key list (keys_location/keys_count/keys_sha256)")
    bucket, key = parse_s3_uri(str(location))
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        raise ManifestError(f"key list {location} of manifest {where} cannot be read: {exc}") from exc
    actual_sha = hashlib.sha256(body).hexdigest()
    if actual_sha != expected_sha:
        raise ManifestError(
            f"key list {location} has sha256 {actual_sha[:16]}…, but manifest {where} says "
            f"{str(expected_sha)[:16]}…: the list is truncated or not this load's"
        )
    keys = list(iter_key_lines(body, str(location)))
    if len(keys) != count:
        raise ManifestError(f"key list {location} holds {len(keys)} keys, manifest {where} says {count}")
    return keys


def iter_key_lines(body: bytes, where: str) -> Iterator[Dict[str, Any]]:
    try:
        text = gzip.GzipFile(fileobj=io.BytesIO(body)).read().decode("utf-8", "surrogatepass")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ManifestError(f"key list {where} is not gzip'd UTF-8 text: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            key = json.loads(line)
        except ValueError as exc:
            raise ManifestError(f"key list {where} line {number} is not JSON: {exc}") from exc
        if not isinstance(key, dict) or not key:
            raise ManifestError(f"key list {where} line {number} is not a key object")
        yield key
