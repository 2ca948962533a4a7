"""Where the benchmark's files live in S3: one bucket, and one key per input file.

The harness uploads there, the null sink serves from there, and the ceiling stamps the same
``source_file`` a real run of the file would: so the key rule is written once, here.
"""

from __future__ import annotations

from pathlib import Path

BUCKET = "csv2ddb-bench"


def source_key(path: Path) -> str:
    """The S3 key a benchmark input file is uploaded to (and the sink serves it under)."""
    return f"raw/bench/{path.name}"


def source_uri(path: Path) -> str:
    """The ``source_file`` value a real run of this file would stamp on its items."""
    return f"s3://{BUCKET}/{source_key(path)}"
