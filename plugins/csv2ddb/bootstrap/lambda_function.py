"""The S3-event Lambda that starts the load DAG (code from ``lambda/``, runtime python3.12).

It consumes the events queue (``events.py``) and waits up to ``EVENT_WINDOW_SECONDS`` for a burst to
end before it starts one DAG run for all of it, so its timeout covers that window plus the trigger.

Everything it needs arrives as environment variables written here from Settings, so the
handler types no name. IAM is eventually consistent on AWS: a just-created role can be refused
by CreateFunction for a few seconds, which ``create`` retries (bounded) before failing.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.lambda_package import build_zip, code_sha256
from csv2ddb.bootstrap.model import MISSING, Observation
from csv2ddb.settings import DAG_ID_LOAD, Settings

RUNTIME = "python3.12"
EVENT_WINDOW_SECONDS = 20  # the longest a burst is collected before its run starts
EVENT_QUIET_SECONDS = 3  # a burst is over when no event came for this long
EVENT_MAX_OBJECTS = 500  # objects in one DAG run at most
EVENT_RETRY_SECONDS = 30  # a failed trigger's events come back after this long
TIMEOUT_SECONDS = 60  # the window, plus login and trigger calls
# A claim by a run that does not exist is another collection's in flight for this long (longer
# than one invocation can take), an orphan after it (its trigger failed; its events regrouped).
EVENT_CLAIM_GRACE_SECONDS = 3 * TIMEOUT_SECONDS
MEMORY_MB = 128
ROLE_PROPAGATION_ATTEMPTS = 12
ROLE_PROPAGATION_DELAY = 5.0


def queue_name(settings: Settings) -> str:
    """The events queue's name (defined here, next to the function that consumes it)."""
    return f"{settings.prefix}-events"


def claims_table_name(settings: Settings) -> str:
    """The table of which run each object went to (``lambda/claims.py``)."""
    return f"{settings.prefix}-event-claims"


class TriggerFunction(Resource):
    kind = "lambda-function"

    @property
    def name(self) -> str:
        return self.settings.lambda_function_name

    def environment(self) -> dict[str, str]:
        s = self.settings
        return {
            "CSV2DDB_AIRFLOW_API_URL": s.airflow_api_url,
            "CSV2DDB_SECRET_ID": s.airflow_api_secret_name,
            "CSV2DDB_DAG_ID": DAG_ID_LOAD,
            # Which dataset's DAG a key goes to (lambda/routes.py); where an unrouted file is recorded.
            "CSV2DDB_ROUTES_KEY": s.routes_key,
            "CSV2DDB_AUDIT_TABLE": s.audit_table,
            "CSV2DDB_RAW_PREFIX": s.raw_prefix,
            "CSV2DDB_TRIGGER_MODE": s.trigger_mode,
            "CSV2DDB_MWAA_ENVIRONMENT": s.mwaa_environment,
            "CSV2DDB_EVENT_WINDOW_SECONDS": str(EVENT_WINDOW_SECONDS),
            "CSV2DDB_EVENT_QUIET_SECONDS": str(EVENT_QUIET_SECONDS),
            "CSV2DDB_EVENT_MAX_OBJECTS": str(EVENT_MAX_OBJECTS),
            "CSV2DDB_EVENT_RETRY_SECONDS": str(EVENT_RETRY_SECONDS),
            "CSV2DDB_EVENT_CLAIMS_TABLE": claims_table_name(s),
            "CSV2DDB_EVENT_CLAIM_GRACE_SECONDS": str(EVENT_CLAIM_GRACE_SECONDS),
        }

    def configuration(self) -> dict[str, Any]:
        return {
            "Runtime": RUNTIME,
            "Handler": self.settings.lambda_handler,
            "Role": self.ctx.role_arn(self.settings.lambda_role_name),
            "Timeout": TIMEOUT_SECONDS,
            "MemorySize": MEMORY_MB,
            "Description": f"csv2ddb {self.settings.prefix}: one load DAG run per burst of new raw/ CSVs",
            "Environment": {"Variables": self.environment()},
        }

    def package(self) -> bytes:
        return build_zip(self.ctx.sources.lambda_dir, self.settings.lambda_handler, self.ctx.sources.glue_dir)

    def observe(self) -> Observation:
        lam = self.ctx.client("lambda")
        try:
            config = lam.get_function_configuration(FunctionName=self.name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return MISSING
            raise
        actual = lam.list_tags(Resource=config["FunctionArn"]).get("Tags", {})
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        drift = tags.drift(actual, self.settings)
        for field, want in self.configuration().items():
            have = config.get(field)
            if field == "Environment":
                have = {"Variables": (have or {}).get("Variables", {})}
                if have != want:
                    changed = sorted(
                        k
                        for k in set(want["Variables"]) | set(have["Variables"])
                        if want["Variables"].get(k) != have["Variables"].get(k)
                    )
                    drift.append(f"environment differs for {', '.join(changed)}")
            elif have != want:
                drift.append(f"{field} {have!r}, want {want!r}")
        if config.get("CodeSha256") != code_sha256(self.package()):
            drift.append(f"code differs from {self.ctx.sources.lambda_dir}")
        return Observation(exists=True, drift=tuple(drift))

    def create(self) -> str:
        lam = self.ctx.client("lambda")
        package = self.package()
        for attempt in range(1, ROLE_PROPAGATION_ATTEMPTS + 1):
            try:
                lam.create_function(
                    FunctionName=self.name,
                    Code={"ZipFile": package},
                    Publish=False,
                    Tags=self.settings.tags,
                    **self.configuration(),
                )
                break
            except ClientError as exc:
                role_not_ready = is_error(exc, "InvalidParameterValueException") and "assume" in str(exc)
                if not role_not_ready or attempt == ROLE_PROPAGATION_ATTEMPTS:
                    raise
                time.sleep(ROLE_PROPAGATION_DELAY)
        lam.get_waiter("function_active_v2").wait(FunctionName=self.name)
        return f"{RUNTIME}, handler {self.settings.lambda_handler}, code {code_sha256(package)[:12]}…"

    def repair(self, observed: Observation) -> str:
        lam = self.ctx.client("lambda")
        config = lam.get_function_configuration(FunctionName=self.name)
        package = self.package()
        if config.get("CodeSha256") != code_sha256(package):
            lam.update_function_code(FunctionName=self.name, ZipFile=package)
            lam.get_waiter("function_updated_v2").wait(FunctionName=self.name)
        lam.update_function_configuration(FunctionName=self.name, **self.configuration())
        lam.get_waiter("function_updated_v2").wait(FunctionName=self.name)
        lam.tag_resource(Resource=config["FunctionArn"], Tags=self.settings.tags)
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("lambda").delete_function(FunctionName=self.name)
        return "deleted"
