"""The Glue task of one file, built from the file's load dict.

Why a subclass and not a ``glue_args`` task feeding ``script_args``: every task of the load DAG is a
process start, a DAG parse and a scheduler round trip (seconds each on a busy laptop), for what is a
dict lookup. The job arguments are the same ``csv2ddb.glue_load.script_args``, computed in
``execute``: after templating, so a key that happens to contain ``{{`` is never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from csv2ddb_core.contract import LOAD_IMPORT

from csv2ddb.glue_load import GuardedGlueJobOperator, script_args
from csv2ddb.import_load import ImportLoadOperator, staged_already
from csv2ddb.settings import load_settings


class LoadFileGlueOperator(GuardedGlueJobOperator):
    """``GuardedGlueJobOperator`` for one load (``load``: a dict from ``resolve_inputs``).

    ``load`` is a template field only so that Airflow resolves it (an XCom, or the mapped task
    group's argument) before ``execute``; a resolved XCom value is not Jinja-rendered.
    """

    template_fields: Sequence[str] = (*GuardedGlueJobOperator.template_fields, "load")

    def __init__(self, *, load: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.load = load

    def execute(self, context: Any) -> str | None:
        settings = load_settings()
        imports = (self.load.get("options") or {}).get("load_method") == LOAD_IMPORT
        if imports and staged_already(self.load, settings):
            # A retry after the staging job succeeded: import what is staged, never stage twice.
            self.log.info("%s is staged already: importing it", self.load["source_uri"])
            job_run_id = None
        else:
            self.script_args = script_args(self.load, settings)
            job_run_id = super().execute(context)
        if imports:
            # The import path (a new table): ImportTable of what the job staged, in this task, so a
            # batch file's work stays two tasks. The provider's operator does the import.
            ImportLoadOperator(
                task_id=f"{self.task_id}_import", load=self.load, aws_conn_id=self.aws_conn_id
            ).execute(context)
        return job_run_id or "staged"
