"""Where a results document is written: the page, its chart and the raw JSON, in docs/ or the cache.

A full run writes docs/; a quick run (or ``--no-docs``) writes the same names under .cache/bench.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from csv2ddb_dev.paths import REPO_ROOT

from bench.report.chart import chart
from bench.report.page import markdown

DOCS_MD = REPO_ROOT / "docs" / "benchmarks.md"
DOCS_JSON = REPO_ROOT / "docs" / "benchmarks.json"
DOCS_PNG = REPO_ROOT / "docs" / "img" / "benchmarks.png"


def write(doc: dict[str, Any], docs: bool, cache_dir: Path) -> tuple[Path, Path]:
    """docs/benchmarks.{md,json} + docs/img/benchmarks.png, or the same names under ``cache_dir``."""
    if docs:
        md, png, js = DOCS_MD, DOCS_PNG, DOCS_JSON
        chart_ref = "img/benchmarks.png"
    else:
        md, png, js = cache_dir / "benchmarks.md", cache_dir / "benchmarks.png", cache_dir / "benchmarks.json"
        chart_ref = "benchmarks.png"
    chart(doc, png)
    js.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    md.write_text(markdown(doc, chart_ref))
    return md, png
