"""The import path's Airflow half: ImportTable of a load's staged DynamoDB JSON, reconciled exactly.

Built on the provider's ``S3ToDynamoDBOperator`` (new-table mode), with its gaps closed here:

- its waiter calls an import ``COMPLETED`` without looking at ``ErrorCount``, and it returns only
  the ARN: :func:`reconcile` reads ``DescribeImport`` and fails the load unless
  ``ImportedItemCount`` equals the manifest's ``rows_written`` and ``ErrorCount`` is 0, naming the
  import ARN and its CloudWatch log group;
- a retried task must not start a second import: every import carries a ``ClientToken`` derived
  from the load's run id, so DynamoDB answers a repeat with the first import, and a table that an
  import of this run already created is not created twice (the same token finds the same import);
- ImportTable cannot set point-in-time recovery, TTL or tags: the table is then ensured with the
  same spec the batch path uses (``csv2ddb.tables.ensure_table``);
- its "existing table" mode imports into a temporary table and rewrites every item with
  ``batch_writer``: never used; an import into an existing table is refused before any work.

The import step is a task of its own, between the staging job and the verify step
(``csv2ddb.load.dag_builder``); only files planned as imports have it. When an ``auto`` import finds
its table made by another load, it hands a new plan, the same file written in batches, to the next
task (``glue_task.BatchInsteadOperator``) instead of failing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
from airflow.providers.amazon.aws.transfers.s3_to_dynamodb import S3ToDynamoDBOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from botocore.exceptions import WaiterError
from csv2ddb_core.contract import LOAD_IMPORT, STATUS_SUCCEEDED, ManifestError

from csv2ddb import stored_manifest, tables
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.load.staging_cleanup import delete_staging
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.settings import Settings, load_settings

CLIENT_TOKEN_CHARS = 32  # ImportTable's ClientToken: 1-36 characters
# The XCom key under which the import step hands a batch plan (FilePlan.to_xcom) to the next task.
BATCH_PLAN_KEY = "batch_plan"


def client_token(run_id: str) -> str:
    """Same load run, same token: a retried task gets the first import back, not a second one."""
    return hashlib.sha256(f"csv2ddb-import:{run_id}".encode()).hexdigest()[:CLIENT_TOKEN_CHARS]


def reconcile(description: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The import's figures; AirflowFailException unless it imported exactly what was staged."""
    figures = {
        "import_arn": description.get("ImportArn"),
        "import_status": description.get("ImportStatus"),
        "imported_count": int(description.get("ImportedItemCount", 0)),
        "processed_count": int(description.get("ProcessedItemCount", 0)),
        "error_count": int(description.get("ErrorCount", 0)),
        "import_log_group": description.get("CloudWatchLogGroupArn"),
    }
    staged = manifest["rows_written"]
    if (
        figures["import_status"] != "COMPLETED"
        or figures["imported_count"] != staged
        or figures["error_count"] != 0
    ):
        failure = description.get("FailureCode")
        why = f" ({failure}: {description.get('FailureMessage')})" if failure else ""
        raise AirflowFailException(
            f"ImportTable {figures['import_arn']} did not import what was staged: status "
            f"{figures['import_status']}{why}, imported {figures['imported_count']} of {staged} staged "
            "items, "
            f"{figures['error_count']} error(s); see CloudWatch log group {figures['import_log_group']}. "
            f"The staging data is kept at {manifest.get('staging', {}).get('location')}"
        )
    return figures


class TableTaken(AirflowFailException):
    """The new table this load was to import exists now, made by another load (two first loads of
    one table at once, e.g. a backfill): ImportTable cannot run into it."""


def import_of_run(client: Any, table: str, token: str) -> str | None:
    """The ARN of this load's import of ``table`` (the one carrying ``token``), or None when there
    is none (another load made the table). A failed import may have left no table: then every
    import of the account is looked through (only on that failure path)."""
    described = tables.describe(client, table)
    request: dict[str, Any] = {"TableArn": described["TableArn"]} if described else {}
    while True:
        page = client.list_imports(**request)
        for summary in page.get("ImportSummaryList", []):
            one = client.describe_import(ImportArn=summary["ImportArn"])["ImportTableDescription"]
            if one.get("ClientToken") == token and str(one.get("TableArn", "")).endswith(f"/{table}"):
                return str(summary["ImportArn"])
        if not page.get("NextToken"):
            return None
        request["NextToken"] = page["NextToken"]


def taken(table: str) -> TableTaken:
    return TableTaken(
        f"table {table} was created by another load after this one planned to import it; "
        "ImportTable only creates new tables"
    )


class ImportLoadOperator(S3ToDynamoDBOperator):
    """ImportTable of one load's staging prefix into its new table (skipped for batch loads)."""

    template_fields: Sequence[str] = (*S3ToDynamoDBOperator.template_fields, "load")

    def __init__(self, *, load: Mapping[str, Any], **kwargs: Any) -> None:
        placeholder = {"s3_bucket": "", "s3_key": "", "dynamodb_table_name": "", "dynamodb_key_schema": []}
        super().__init__(**{**placeholder, **kwargs})
        self.load = load

    def execute(self, context: Any) -> str:
        """The import's ARN ("" when nothing was staged). Skipped when it handed the file over to a
        batch load (``BATCH_PLAN_KEY``): the import did not run, the next task loads the file."""
        plan = FilePlan.from_xcom(self.load)
        if not plan.imports:
            raise AirflowSkipException(f"{plan.source.uri} is a batch load: nothing to import")
        settings = load_settings()
        try:
            return self.import_staged(context, settings)
        except TableTaken as exc:
            if not plan.auto_import:
                raise
            self.hand_over(context, settings, plan, exc)
            raise AirflowSkipException(f"no import: {exc}; the batch_instead task loads the file") from exc

    def import_staged(self, context: Any, settings: Settings) -> str:
        load = self.load
        write = FilePlan.from_xcom(load).write
        client = dynamodb_client(settings)
        manifest = staged_manifest(load, settings)
        if manifest is None:
            if tables.describe(client, load["table"]) is not None:
                raise taken(load["table"])  # the staging step found the table made and staged nothing
            manifest = read_manifest(load, settings)  # fails, saying why nothing is staged
        spec = tables.items_table_spec(settings, load["table"], write.keys, write.ttl_attribute)
        if not manifest.get("rows_written"):
            # Nothing staged (a header-only file, or every row rejected within tolerance): there
            # is nothing to import, and ImportTable needs data; the table is created empty.
            ensured = tables.ensure_table(client, spec, tags=settings.tags)
            self.log.info("%s staged no item: table created, no ImportTable: %s", load["source_uri"], ensured)
            write_manifest(load, settings, {**manifest, "imported_count": 0, "table_after_import": ensured})
            return ""
        bucket, _, prefix = manifest["staging"]["location"][len("s3://") :].partition("/")
        self.s3_bucket, self.s3_key = bucket, prefix
        self.dynamodb_table_name = spec.name
        # Plain dicts of the shapes the provider's TypedDicts describe.
        self.dynamodb_key_schema = cast(Any, spec.key_schema())
        self.dynamodb_attributes = cast(Any, spec.attribute_definitions())
        self.input_format = "DYNAMODB_JSON"
        self.import_table_kwargs = {
            "InputCompressionType": "GZIP",
            "ClientToken": client_token(load["run_id"]),
        }
        self.delete_on_error = False  # a failed import's table and staging stay for inspection
        arn = self.start_or_resume(context, client, spec.name, client_token(load["run_id"]))
        figures = reconcile(client.describe_import(ImportArn=arn)["ImportTableDescription"], manifest)
        ensured = tables.ensure_table(client, spec, tags=settings.tags)
        # ImportTable takes no tags: tag the new table as CreateTable would have.
        arn_of_table = client.describe_table(TableName=spec.name)["Table"]["TableArn"]
        client.tag_resource(
            ResourceArn=arn_of_table, Tags=[{"Key": k, "Value": v} for k, v in settings.tags.items()]
        )
        self.log.info("imported %s: %s; table %s", load["source_uri"], figures, ensured)
        write_manifest(load, settings, {**manifest, **figures, "table_after_import": ensured})
        return arn

    def hand_over(self, context: Any, settings: Settings, plan: FilePlan, reason: TableTaken) -> None:
        """``auto`` planned an import, but another load created the table first (two first loads
        of one table at once): wait until that table is ACTIVE (its import done), check it has this
        load's keys, drop what this load staged, and hand a new plan, the same file written in
        batches, to the next task."""
        self.log.warning("%s: %s; loading in batches instead", plan.source.uri, reason)
        batch = plan.as_batch(str(reason))
        try:
            ready = tables.ensure_table(
                dynamodb_client(settings),
                tables.items_table_spec(settings, batch.table, batch.write.keys, batch.write.ttl_attribute),
                tags=settings.tags,
                delay_seconds=settings.load.import_poll_seconds,  # another load's import: as long as ours
                max_attempts=settings.load.import_poll_attempts,
            )
        except tables.TableSchemaMismatch as exc:
            raise TableTaken(f"{reason}, with other keys: {exc}") from exc
        self.log.info("table ready for the batch load: %s", ready)
        staged = staged_manifest(self.load, settings)
        if staged:
            dropped = delete_staging(staged, settings)
            self.log.info("deleted %d staged object(s) this load no longer imports", dropped)
        context["ti"].xcom_push(key=BATCH_PLAN_KEY, value=batch.to_xcom())

    def start_or_resume(self, context: Any, client: Any, table: str, token: str) -> str:
        """The ARN of this load's import, finished (COMPLETED or not: ``reconcile`` judges it):
        ImportTable, or the import an earlier attempt started; :class:`TableTaken` when another
        load created the table."""
        if tables.describe(client, table) is None:
            try:
                return str(super().execute(context))
            except AirflowException as exc:
                # The provider's failure names no ARN or counts: find this load's import to say them.
                arn = import_of_run(client, table, token)
                if arn is not None:
                    self.log.error("ImportTable failed: %s", exc)
                    return arn
                if tables.describe(client, table) is None:
                    raise
                raise taken(table) from None
        arn = import_of_run(client, table, token)
        if arn is None:
            raise taken(table)
        self.log.info("table %s was created by this load's import %s: waiting for it", table, arn)
        try:
            DynamoDBHook(aws_conn_id=self.aws_conn_id).get_waiter("import_table").wait(
                ImportArn=arn, WaiterConfig={"Delay": self.check_interval, "MaxAttempts": self.max_attempts}
            )
        except WaiterError as exc:
            self.log.error("import %s did not complete: %s", arn, exc)
        return arn


def _fetched(load: Mapping[str, Any], settings: Settings) -> tuple[dict[str, Any] | None, str]:
    try:
        return stored_manifest.fetch(settings, load["run_id"])
    except ManifestError as exc:  # a malformed manifest cannot get better on a retry
        raise AirflowFailException(str(exc)) from exc


def staged_manifest(load: Mapping[str, Any], settings: Settings) -> dict[str, Any] | None:
    """The manifest of this load's succeeded staging job, or None when it has not staged (a retried
    task must not stage twice)."""
    manifest, _ = _fetched(load, settings)
    if manifest is None:
        return None
    staged = manifest.get("status") == STATUS_SUCCEEDED and manifest.get("load_method") == LOAD_IMPORT
    return manifest if staged else None


def read_manifest(load: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The staging job's manifest: it must exist, be this load's, and say succeeded."""
    manifest, where = _fetched(load, settings)
    if manifest is None:
        raise AirflowFailException(f"{where} does not exist: the staging job wrote no manifest")
    if manifest.get("status") != STATUS_SUCCEEDED or manifest.get("load_method") != LOAD_IMPORT:
        raise AirflowFailException(
            f"the staging job of {load['source_uri']} did not succeed: {manifest.get('error')}; "
            "nothing imported"
        )
    return manifest


def write_manifest(load: Mapping[str, Any], settings: Settings, manifest: Mapping[str, Any]) -> None:
    """The manifest gains the import's ARN and counts (the audit record and the Loads page show them)."""
    stored_manifest.store(settings, load["run_id"], manifest)
