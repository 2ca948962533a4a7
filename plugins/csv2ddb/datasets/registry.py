"""Every dataset of a deployment, read from its folder, and the one routing rule: which dataset
(if any) a key belongs to.

A broken file never hides the good ones: :func:`load_all` returns the datasets it could read and
a :class:`DatasetError` per file it could not, so the DAG factory builds the good DAGs and shows
the broken ones, and ``datasets check`` (run by CI) refuses the whole folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from csv2ddb.datasets.spec import Dataset, DatasetError, load
from csv2ddb.settings import Settings

SUFFIXES = (".yaml", ".yml")
ENV_DIR = "CSV2DDB_DATASETS_DIR"


def deployed_dir(dags_folder: Path | None = None) -> Path:
    """Where a deployment's dataset files are: ``$CSV2DDB_DATASETS_DIR``, else ``datasets/`` beside
    the DAG files (``dags_folder``, default this checkout's ``dags/``). The DAG factory, the Loads
    page, the bootstrap's routing table and ``datasets check`` all ask here, so they agree."""
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    return (dags_folder or Path(__file__).resolve().parents[3] / "dags") / "datasets"


@dataclass(frozen=True)
class Datasets:
    """What a folder of dataset files gave: the good datasets and one error per bad file."""

    datasets: tuple[Dataset, ...]
    errors: tuple[DatasetError, ...]

    def route(self, key: str) -> Dataset | None:
        """The dataset claiming ``key``; None when no dataset does (the key is never loaded)."""
        return route(self.datasets, key)

    @property
    def tables(self) -> tuple[str, ...]:
        """The DynamoDB tables the good datasets load into, each once, sorted (two datasets may
        share a table): what the staleness check watches and the bootstrap alarms on."""
        return tuple(sorted({dataset.table for dataset in self.datasets}))

    def named(self, name: str) -> Dataset:
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        raise KeyError(name)


def route(datasets: Sequence[Dataset], key: str) -> Dataset | None:
    claiming = [d for d in datasets if d.claims(key)]
    return claiming[0] if len(claiming) == 1 else None


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES) if folder.is_dir() else []


def load_all(folder: Path, settings: Settings) -> Datasets:
    """Read every dataset file of ``folder``. Two datasets whose prefixes overlap (one claims keys
    of the other) are both refused: a key must belong to at most one dataset."""
    good: list[Dataset] = []
    errors: list[DatasetError] = []
    for path in files_in(folder):
        try:
            good.append(load(path, settings))
        except DatasetError as exc:
            errors.append(exc)
    overlapping: set[str] = set()
    for i, one in enumerate(good):
        for other in good[i + 1 :]:
            if one.prefix.startswith(other.prefix) or other.prefix.startswith(one.prefix):
                for a, b in ((one, other), (other, one)):
                    errors.append(
                        DatasetError(
                            a.path,
                            "files.prefix",
                            f"{a.prefix!r} overlaps {b.prefix!r} of dataset {b.name!r} ({b.path}): "
                            "a key may belong to one dataset only",
                        )
                    )
                    overlapping.add(a.name)
    kept = tuple(d for d in good if d.name not in overlapping)
    return Datasets(datasets=kept, errors=tuple(sorted(errors, key=lambda e: e.path)))
