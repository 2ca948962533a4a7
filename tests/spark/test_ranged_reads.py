"""csv2ddb_core.source.S3ObjectStream, the one resumable reader of both engines: the Python shell's
whole-object pass and the Spark tasks' pinned byte ranges. A fake S3 client cuts connections and,
like ministack, may answer a ranged GET with the whole object. No Spark, no emulator."""

from __future__ import annotations

import io
from typing import Any

import pytest
from csv2ddb_core.contract import JobError
from csv2ddb_core.source import S3ObjectStream, version_pin
from csv2ddb_core.spark.ranged import read_range, read_until_line_start

DATA = bytes(range(256)) * 40  # 10,240 bytes


class Body:
    def __init__(self, data: bytes, break_after: int | None) -> None:
        self._data = io.BytesIO(data)
        self._left = break_after

    def read(self, n: int = -1) -> bytes:
        if self._left is not None and self._left <= 0:
            raise OSError("connection reset by peer")
        if self._left is not None:
            n = min(n if n >= 0 else self._left, self._left)
            self._left -= n
        return self._data.read(n)

    def close(self) -> None:
        pass


class FakeS3:
    """GetObject of DATA: the body of each of the first ``breaks`` answers breaks after
    ``break_after`` bytes; ``ignore_range``: a ranged GET gets the whole object, without
    Content-Range (ministack when VersionId is given)."""

    def __init__(self, break_after: int | None = None, ignore_range: bool = False, breaks: int = 99) -> None:
        self.calls: list[dict[str, Any]] = []
        self.break_after = break_after
        self.ignore_range = ignore_range
        self.breaks = breaks

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        head = {"ETag": '"e1"', "VersionId": "v1"}
        self.breaks -= 1
        break_after = self.break_after if self.breaks >= 0 else None
        if "Range" not in kwargs or self.ignore_range:
            return {**head, "Body": Body(DATA, break_after), "ContentLength": len(DATA)}
        first, _, last = kwargs["Range"].removeprefix("bytes=").partition("-")
        stop = int(last) + 1 if last else len(DATA)
        part = DATA[int(first) : stop]
        return {
            **head,
            "Body": Body(part, break_after),
            "ContentLength": len(part),
            "ContentRange": f"bytes {first}-{stop - 1}/{len(DATA)}",
        }


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("csv2ddb_core.source.time.sleep", lambda s: None)


def test_the_python_shell_read_learns_the_version_and_resumes_pinned() -> None:
    s3 = FakeS3(break_after=3000)
    stream = S3ObjectStream(s3, "b", "k")
    assert (stream.etag, stream.version_id, stream.size) == ("e1", "v1", len(DATA))
    assert io.BufferedReader(stream).read() == DATA
    assert s3.calls[0] == {"Bucket": "b", "Key": "k"}  # the first GET: whatever version is current
    assert s3.calls[1] == {"Bucket": "b", "Key": "k", "VersionId": "v1", "Range": "bytes=3000-"}
    assert stream.reopens == 3


def test_a_pinned_range_resumes_inside_its_range() -> None:
    s3 = FakeS3(break_after=700)
    pin = version_pin(None, "e1")
    assert read_range(s3, "b", "k", pin, 1000, 3000) == DATA[1000:3000]
    assert [c["Range"] for c in s3.calls] == ["bytes=1000-2999", "bytes=1700-2999", "bytes=2400-2999"]
    assert all(c["IfMatch"] == '"e1"' for c in s3.calls)


def test_a_ranged_get_answered_with_the_whole_object_is_skipped_to_its_offset() -> None:
    s3 = FakeS3(ignore_range=True)
    pin = version_pin("v1", "e1")
    assert read_range(s3, "b", "k", pin, 5000, 5100) == DATA[5000:5100]
    assert read_until_line_start(s3, "b", "k", pin, 2, len(DATA)) == DATA.index(b"\n", 1) + 1
    stream = S3ObjectStream(FakeS3(break_after=4000, ignore_range=True, breaks=1), "b", "k")
    assert io.BufferedReader(stream).read() == DATA  # the Python shell's resume, on ministack
    assert stream.reopens == 1


def test_an_empty_range_sends_no_get_and_a_dead_source_fails_loudly() -> None:
    s3 = FakeS3()
    assert read_range(s3, "b", "k", {}, 10, 10) == b""
    assert s3.calls == []
    with pytest.raises(JobError, match=r"failed at byte 0 after 5 re-opens"):
        io.BufferedReader(S3ObjectStream(FakeS3(break_after=0), "b", "k")).read()
