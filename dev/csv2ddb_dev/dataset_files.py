"""Dataset files for a test's or a bench's own stack: the event path loads only files a dataset
claims (docs/datasets.md), so a harness that uploads under its own prefix deploys a dataset for it,
in a folder that ``CSV2DDB_DATASETS_DIR`` points Airflow and the bootstrap at."""

from __future__ import annotations

from pathlib import Path

from csv2ddb.datasets.registry import ENV_DIR
from csv2ddb.datasets.spec import DAG_ID_PREFIX


def event_dataset(name: str, prefix: str, table: str = "", partition_key: str = "id:S") -> str:
    """The YAML of a dataset whose files arrive by S3 event (table default: ``<stack prefix>-<name>``)."""
    return (
        f"description: {name} (a harness's own dataset)\n"
        f"files: {{prefix: {prefix}, arrive: event}}\n"
        f'table: {{name: "{table or "{prefix}-" + name}", partition_key: "{partition_key}"}}\n'
    )


def schedule_dataset(name: str, prefix: str, table: str = "", read: str = "") -> str:
    """The YAML of a dataset whose day runs load ``<prefix>dt=<day>/`` (``@daily``); ``read`` is a
    flow mapping for its ``read:`` section, e.g. ``{header: false, columns: [a, b]}``."""
    return (
        f"description: {name} (a harness's own scheduled dataset)\n"
        f"files: {{prefix: {prefix}, arrive: schedule, schedule: '@daily'}}\n"
        f'table: {{name: "{table or "{prefix}-" + name}", partition_key: "id:S"}}\n'
        + (f"read: {read}\n" if read else "")
    )


def deploy_datasets(folder: Path, datasets: dict[str, str]) -> dict[str, str]:
    """Write ``{name: yaml}`` as ``folder/<name>.yaml``; the environment that deploys exactly these."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in datasets.items():
        (folder / f"{name}.yaml").write_text(text)
    return {ENV_DIR: str(folder)}


def dag_id_of(name: str) -> str:
    return f"{DAG_ID_PREFIX}{name}"
