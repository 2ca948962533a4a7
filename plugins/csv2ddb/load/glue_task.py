"""The Glue task of one file, built from the file's load dict.

Why a subclass and not a ``glue_args`` task feeding ``script_args``: every task of the load DAG is a
process start, a DAG parse and a scheduler round trip (seconds each on a busy laptop), for what is a
dict lookup. The job arguments are the same ``csv2ddb.load.glue_run.script_args``, computed in
``execute``: after templating, so a key that happens to contain ``{{`` is never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from csv2ddb import tables, write_options
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.load.glue_run import GuardedGlueJobOperator, script_args
from csv2ddb.load.import_table import ImportLoadOperator, TableTaken, staged_manifest, taken
from csv2ddb.load.staging_cleanup import delete_staging
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.settings import Settings, load_settings


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
        plan = FilePlan.from_xcom(self.load)
        if plan.imports:
            try:
                return self.stage_and_import(context, settings)
            except TableTaken as exc:
                if not plan.auto_import:
                    raise
                self.batch_instead(settings, plan, exc)
        self.script_args = script_args(self.load, settings)
        return super().execute(context)

    def stage_and_import(self, context: Any, settings: Settings) -> str:
        """The import path (a new table): the job stages, then ImportTable in this task, so a batch
        file's work stays two tasks. The provider's operator does the import."""
        if staged_manifest(self.load, settings):
            # A retry after the staging job succeeded: import what is staged, never stage twice.
            self.log.info("%s is staged already: importing it", self.load["source_uri"])
            job_run_id = None
        else:
            if tables.describe(dynamodb_client(settings), self.load["table"]) is not None:
                raise taken(self.load["table"])  # not this load's import: it has staged nothing yet
            self.script_args = script_args(self.load, settings)
            job_run_id = super().execute(context)
        ImportLoadOperator(
            task_id=f"{self.task_id}_import",
            load=self.load,
            aws_conn_id=self.aws_conn_id,
            check_interval=settings.import_poll_seconds,
            max_attempts=settings.import_poll_attempts,
        ).execute(context)
        return job_run_id or "staged"

    def batch_instead(self, settings: Settings, plan: FilePlan, reason: TableTaken) -> None:
        """``auto`` planned an import, but another load created the table first (two first loads
        of one table at once): wait until that table is ACTIVE (its import done), check it has this
        load's keys, drop what this load staged, and load the file in batches."""
        self.log.warning("%s: %s; loading in batches instead", self.load["source_uri"], reason)
        batch = plan.as_batch(str(reason))  # a new plan: the same file, written in batches
        try:
            ready = tables.ensure_table(
                dynamodb_client(settings),
                write_options.table_spec(settings, batch.table, batch.write),
                tags=settings.tags,
                delay_seconds=settings.import_poll_seconds,  # another load's import: as long as ours
                max_attempts=settings.import_poll_attempts,
            )
        except tables.TableSchemaMismatch as exc:
            raise TableTaken(f"{reason}, with other keys: {exc}") from exc
        self.log.info("table ready for the batch load: %s", ready)
        staged = staged_manifest(self.load, settings)
        if staged:
            dropped = delete_staging(staged, settings)
            self.log.info("deleted %d staged object(s) this load no longer imports", dropped)
        self.load = batch.to_xcom()
        # This attempt's task state holds the staging run's id: reconnecting would "resume" it.
        self.durable = False
        # The provider's cached GlueJobHook popped "Command" out of its job kwargs on the staging
        # run; reused, it would update the job to its default command (glueetl). A fresh hook.
        self.__dict__.pop("hook", None)
