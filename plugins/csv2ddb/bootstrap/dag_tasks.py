"""What the csv2ddb_bootstrap / csv2ddb_teardown DAGs do, over ``csv2ddb.bootstrap``.

The bootstrap package is imported inside each function, never at DAG parse time: parsing must
not need it (or AWS), and a broken bootstrap must not break the load DAG's import.

Each DAG hands its own folder (``dags_folder``): the stack's dataset-driven resources (the routing
table, a staleness alarm per dataset) then come from the dataset files Airflow builds the dataset
DAGs from (``registry.deployed_dir``), wherever the deployment keeps its DAGs, not from the folder
beside the plugin code (``infra_bootstrap.py``'s default).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from csv2ddb.settings import Settings

if TYPE_CHECKING:
    from csv2ddb.bootstrap import Sources

log = logging.getLogger(__name__)
CONFIRM_WORD = "delete"


def require_confirmation(confirm: Any, settings: Settings) -> None:
    """Refuse (no retries) unless the person typed exactly ``delete``."""
    if confirm != CONFIRM_WORD:
        raise AirflowFailException(
            f"refusing to delete stack {settings.prefix!r}: trigger csv2ddb_teardown with param "
            f"confirm={CONFIRM_WORD!r} (got {confirm!r}). Nothing was deleted."
        )


def sources(dags_folder: Path) -> Sources:
    """The stack's sources, its dataset files those of the DAGs in ``dags_folder``."""
    from csv2ddb.bootstrap import Sources
    from csv2ddb.datasets.registry import deployed_dir

    return Sources(datasets_dir=deployed_dir(dags_folder))


def create(settings: Settings, dags_folder: Path) -> list[dict[str, Any]]:
    from csv2ddb.bootstrap import create_stack

    changes = [asdict(c) for c in create_stack(settings, sources=sources(dags_folder))]
    for change in changes:
        log.info("%(kind)-17s %(name)-45s %(action)s %(detail)s", change)
    return changes


def delete(settings: Settings, dags_folder: Path) -> list[dict[str, Any]]:
    from csv2ddb.bootstrap import delete_stack

    changes = [asdict(c) for c in delete_stack(settings, sources=sources(dags_folder))]
    for change in changes:
        log.info("%(kind)-17s %(name)-45s %(action)s %(detail)s", change)
    return changes


def status(settings: Settings, dags_folder: Path, *, require_ok: bool) -> list[dict[str, Any]]:
    """The stack's status rows; with ``require_ok`` fail when a resource is missing or drifted."""
    from csv2ddb.bootstrap import stack_status

    rows = stack_status(settings, sources=sources(dags_folder))
    for row in rows:
        log.info("%-17s %-45s %s %s", row.kind, row.name, "ok" if row.ok else "NOT OK", row.detail)
    bad = [f"{r.kind} {r.name}: {r.detail}" for r in rows if not r.ok]
    if require_ok and bad:
        raise AirflowFailException("stack is not complete after create:\n" + "\n".join(bad))
    return [{**asdict(r), "ok": r.ok} for r in rows]
