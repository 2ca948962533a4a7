"""The bad-input cases of cases/cases.yaml: their bytes (files, or generated in code) and expectations.

Large inputs (the 10,000-column header, the >400 KB row, the long keys) are generated here rather
than committed; everything else is a small file next to the manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
MANIFEST = CASES_DIR / "cases.yaml"

LONG_ID_1KB = "k" * 1500  # within DynamoDB's 2,048-byte partition key limit
LONG_ID_OVER_2KB = "x" * 2100  # over it
PLACEHOLDERS = {"<1500 x k>": LONG_ID_1KB}
# Object keys no load may start from, and words of the reason each refusal must give.
BAD_KEYS = {
    "key_outside_raw": ("other/x.csv", "outside raw/"),
    "key_escaping_raw": ("raw/../secrets/x.csv", "'..'"),
}


def _row_over_400kb() -> bytes:
    return b"id,blob\nbig1," + b"a" * 420_000 + b"\nsmall1,ok\n"


def _wide_header_10000() -> bytes:
    names = ["id"] + [f"c{i}" for i in range(1, 10_000)]
    values = ["wide1"] + ["1"] * 9_999
    return (",".join(names) + "\n" + ",".join(values) + "\n").encode()


def _id_1kb() -> bytes:
    return f"id,v\nshort1,1\n{LONG_ID_1KB},2\n".encode()


def _id_over_2kb() -> bytes:
    return f"id,v\n{LONG_ID_OVER_2KB},1\nshort2,2\n".encode()


def _gzip_named_csv() -> bytes:
    return gzip.compress(b"id,v\ng1,1\ng2,2\n", mtime=0)


GENERATORS: dict[str, Callable[[], bytes]] = {
    "row_over_400kb": _row_over_400kb,
    "wide_header_10000": _wide_header_10000,
    "id_1kb": _id_1kb,
    "id_over_2kb": _id_over_2kb,
    "gzip_named_csv": _gzip_named_csv,
}


def content_hash_id(names: Sequence[str], values: Sequence[str]) -> str:
    """The documented id of a row without an id column (docs/glue-job.md), computed independently
    of the job: first 32 hex chars of sha256 over the canonical JSON of {name: raw cell}."""
    compact = json.dumps(
        dict(zip(names, values, strict=True)), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(compact.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    key: str
    args: dict[str, str]
    rows: int
    expect: dict[str, Any]
    open_defect: str | None = None
    defect: str | None = None  # a defect this case found, since fixed
    source: str = field(default="")

    @property
    def status(self) -> str:
        return self.expect["status"]

    @property
    def figures(self) -> list[int]:
        return list(self.expect["figures"])

    def expected_ids(self) -> set[str]:
        if "hash_items" in self.expect:
            names = self.expect["header"]
            return {content_hash_id(names, row) for row in self.expect["hash_items"]}
        return {PLACEHOLDERS.get(i, i) for i in self.expect.get("items", [])}


def load_defects() -> dict[str, dict[str, str]]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["defects"]


def load_cases() -> list[Case]:
    raw = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["cases"]
    cases = []
    for name, spec in raw.items():
        if "generate" in spec:
            body, source = GENERATORS[spec["generate"]](), f"generated: {spec['generate']}"
        elif "body" in spec:  # a few lines, written in the case itself
            body, source = spec["body"].encode("utf-8"), "inline"
        else:
            body, source = (CASES_DIR / spec["file"]).read_bytes(), spec["file"]
        cases.append(
            Case(
                name=name,
                body=body,
                key=spec.get("key", f"raw/{name}.csv"),
                args={k: str(v) for k, v in (spec.get("args") or {}).items()},
                rows=int(spec["rows"]),
                expect=spec["expect"],
                open_defect=spec.get("open_defect"),
                defect=spec.get("defect"),
                source=source,
            )
        )
    return cases
