"""The S3 → Lambda wiring: the function's invoke permission for S3, and the bucket notification.

Both live inside resources we own (the function's resource policy, the bucket's notification
configuration), so they are ours exactly when their container is; other statements and other
notification configurations found there are kept untouched.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from csv2ddb_core.contract import CSV_SUFFIX, CSV_SUFFIXES

from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.bucket import bucket_owned
from csv2ddb.bootstrap.model import MISSING, Observation

STATEMENT_ID = "csv2ddb-s3-invoke"
NOTIFICATION_ID = "csv2ddb-raw-csv"
EVENTS = ["s3:ObjectCreated:*"]


class InvokePermission(Resource):
    """``lambda:InvokeFunction`` for ``s3.amazonaws.com``, only from our bucket in our account."""

    kind = "lambda-permission"

    @property
    def name(self) -> str:
        return f"{self.settings.lambda_function_name}:{STATEMENT_ID}"

    def _function_owned(self) -> bool | None:
        lam = self.ctx.client("lambda")
        try:
            config = lam.get_function_configuration(FunctionName=self.settings.lambda_function_name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return None
            raise
        return tags.is_owned(lam.list_tags(Resource=config["FunctionArn"]).get("Tags", {}), self.settings)

    def _statement(self) -> dict[str, Any] | None:
        try:
            lam = self.ctx.client("lambda")
            raw = lam.get_policy(FunctionName=self.settings.lambda_function_name)["Policy"]
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):  # no resource policy at all yet
                return None
            raise
        statements = json.loads(raw).get("Statement", [])
        return next((st for st in statements if st.get("Sid") == STATEMENT_ID), None)

    def observe(self) -> Observation:
        owned = self._function_owned()
        if owned is None:
            return MISSING
        if not owned:
            return Observation(exists=True, owned=False)
        statement = self._statement()
        if statement is None:
            return MISSING
        drift = []
        if statement.get("Principal") != {"Service": "s3.amazonaws.com"}:
            drift.append(f"principal {statement.get('Principal')!r}")
        if statement.get("Action") != "lambda:InvokeFunction":
            drift.append(f"action {statement.get('Action')!r}")
        if statement.get("Resource") != self.ctx.function_arn:
            drift.append(f"resource {statement.get('Resource')!r}")
        condition = statement.get("Condition", {})
        source_arn = condition.get("ArnLike", {}).get("AWS:SourceArn")
        if source_arn != self.ctx.bucket_arn:
            drift.append(f"source ARN {source_arn!r}, want {self.ctx.bucket_arn!r}")
        source_account = condition.get("StringEquals", {}).get("AWS:SourceAccount")
        if source_account != self.ctx.account:
            drift.append(f"source account {source_account!r}, want this account")
        return Observation(exists=True, drift=tuple(drift))

    def create(self) -> str:
        self.ctx.client("lambda").add_permission(
            FunctionName=self.settings.lambda_function_name,
            StatementId=STATEMENT_ID,
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn=self.ctx.bucket_arn,
            # Bucket ARNs carry no account: pin it so a same-named bucket elsewhere cannot invoke.
            SourceAccount=self.ctx.account,
        )
        return f"s3.amazonaws.com from {self.ctx.bucket_arn}"

    def repair(self, observed: Observation) -> str:
        self.delete()
        self.create()
        return "; ".join(observed.drift)

    def delete(self) -> str:
        try:
            self.ctx.client("lambda").remove_permission(
                FunctionName=self.settings.lambda_function_name, StatementId=STATEMENT_ID
            )
        except ClientError as exc:
            if not is_error(exc, "ResourceNotFoundException"):
                raise
            return "already gone"
        return "removed"


def notification_id(suffix: str) -> str:
    """One rule per suffix (an S3 filter has one suffix); ``.csv`` keeps the round-1 id."""
    return NOTIFICATION_ID if suffix == CSV_SUFFIX else f"{NOTIFICATION_ID}-{suffix.rsplit('.', 1)[-1]}"


class BucketNotification(Resource):
    """ObjectCreated events for ``raw/*.csv``, ``*.csv.gz`` and ``*.csv.bz2`` go to the trigger
    Lambda (the suffixes of ``csv2ddb_core.contract.CSV_SUFFIXES``)."""

    kind = "s3-notification"

    @property
    def name(self) -> str:
        return f"{self.settings.bucket}:{NOTIFICATION_ID}"

    def wanted(self) -> list[dict[str, Any]]:
        return [
            {
                "Id": notification_id(suffix),
                "LambdaFunctionArn": self.ctx.function_arn,
                "Events": EVENTS,
                "Filter": {
                    "Key": {
                        "FilterRules": [
                            {"Name": "Prefix", "Value": self.settings.raw_prefix},
                            {"Name": "Suffix", "Value": suffix},
                        ]
                    }
                },
            }
            for suffix in CSV_SUFFIXES
        ]

    @staticmethod
    def is_ours(config: dict[str, Any]) -> bool:
        return str(config.get("Id", "")).startswith(NOTIFICATION_ID)

    def _config(self) -> dict[str, Any]:
        config = self.ctx.client("s3").get_bucket_notification_configuration(Bucket=self.settings.bucket)
        config.pop("ResponseMetadata", None)
        return config

    def observe(self) -> Observation:
        owned = bucket_owned(self.ctx)
        if owned is None:
            return MISSING
        if not owned:
            return Observation(exists=True, owned=False)
        configs = self._config().get("LambdaFunctionConfigurations", [])
        ours = {c.get("Id"): c for c in configs if self.is_ours(c)}
        if not ours:
            return MISSING
        drift = []
        for want in self.wanted():
            have = ours.pop(want["Id"], None)
            if have is None:
                drift.append(f"rule {want['Id']} missing")
                continue
            if have.get("LambdaFunctionArn") != want["LambdaFunctionArn"]:
                drift.append(f"target {have.get('LambdaFunctionArn')!r}, want {want['LambdaFunctionArn']!r}")
            if sorted(have.get("Events", [])) != EVENTS:
                drift.append(f"events {have.get('Events')!r}, want {EVENTS!r}")
            if _rules(have) != _rules(want):
                drift.append(f"filter {_rules(have)}, want {_rules(want)}")
        drift += [f"unexpected rule {rule_id}" for rule_id in ours]
        return Observation(exists=True, drift=tuple(drift))

    def _put(self, include_ours: bool) -> None:
        config = self._config()
        others = [c for c in config.get("LambdaFunctionConfigurations", []) if not self.is_ours(c)]
        config["LambdaFunctionConfigurations"] = others + (self.wanted() if include_ours else [])
        if not config["LambdaFunctionConfigurations"]:
            del config["LambdaFunctionConfigurations"]
        self.ctx.client("s3").put_bucket_notification_configuration(
            Bucket=self.settings.bucket, NotificationConfiguration=config
        )

    def create(self) -> str:
        self._put(include_ours=True)
        s = self.settings
        patterns = ", ".join(f"{s.raw_prefix}*{suffix}" for suffix in CSV_SUFFIXES)
        return f"ObjectCreated {patterns} -> {s.lambda_function_name}"

    def repair(self, observed: Observation) -> str:
        self._put(include_ours=True)
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self._put(include_ours=False)
        return "removed from the bucket's notification configuration"


def _rules(config: dict[str, Any]) -> dict[str, str]:
    rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {r["Name"].lower(): r["Value"] for r in rules}
