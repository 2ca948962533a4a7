"""Load run ids: one per (DAG run, source file), safe to use in S3 keys and Glue arguments.

The Glue job names its manifest ``manifests/<run_id>.json`` and stamps every item with
``load_run_id``, so the id must be deterministic (a retried or replayed task finds the same
manifest and items) and must contain only ``[A-Za-z0-9._-]``.
"""

from __future__ import annotations

import hashlib
import re

MAX_RUN_ID_LENGTH = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def sanitize(text: str) -> str:
    """Replace every run of unsafe characters with one ``_`` (``:``, ``+``, ``/``, spaces...)."""
    return _UNSAFE.sub("_", text).strip("_")


def load_run_id(dag_run_id: str, bucket: str, key: str) -> str:
    """``<dag run>__<file name>__<hash>``: readable, and unique even after truncation.

    The hash covers the unsanitized DAG run id, bucket and key, so two files whose names
    sanitize alike (``a b.csv`` / ``a_b.csv``) still get different ids.
    """
    digest = hashlib.sha256(f"{dag_run_id}\n{bucket}\n{key}".encode()).hexdigest()[:16]
    name = sanitize(key.rsplit("/", 1)[-1]) or "file"
    run = sanitize(dag_run_id) or "run"
    budget = MAX_RUN_ID_LENGTH - len(digest) - 4  # two "__" separators
    name = name[: min(len(name), 60)]
    run = run[: budget - len(name)]
    run_id = f"{run}__{name}__{digest}"
    if not SAFE_RUN_ID.match(run_id):  # defensive: the construction above guarantees it
        raise ValueError(f"derived run id {run_id!r} is not safe")
    return run_id
