"""The bucket notification: new CSV objects under ``raw/`` -> the events queue (``events.py``).

Until issue 24 S3 invoked the trigger Lambda directly, one invocation and one DAG run per file; now
the events queue holds a burst until the Lambda coalesces it. The notification lives inside the
bucket, so it is ours exactly when the bucket is; other notification configurations found there are
kept untouched, and our own Lambda configurations of the old wiring are removed.
"""

from __future__ import annotations

from typing import Any

from csv2ddb_core.contract import CSV_SUFFIX, CSV_SUFFIXES

from csv2ddb.bootstrap.base import Resource
from csv2ddb.bootstrap.bucket import bucket_owned
from csv2ddb.bootstrap.lambda_function import queue_name
from csv2ddb.bootstrap.model import MISSING, Observation

NOTIFICATION_ID = "csv2ddb-raw-csv"
EVENTS = ["s3:ObjectCreated:*"]


def notification_id(suffix: str) -> str:
    """One rule per suffix (an S3 filter has one suffix); ``.csv`` keeps the plain id, so a stack
    made before the other suffixes is updated in place, not given a second rule."""
    return NOTIFICATION_ID if suffix == CSV_SUFFIX else f"{NOTIFICATION_ID}-{suffix.rsplit('.', 1)[-1]}"


class BucketNotification(Resource):
    """ObjectCreated events for ``raw/*.csv``, ``*.csv.gz`` and ``*.csv.bz2`` go to the events
    queue (the suffixes of ``csv2ddb_core.contract.CSV_SUFFIXES``)."""

    kind = "s3-notification"

    @property
    def name(self) -> str:
        return f"{self.settings.bucket}:{NOTIFICATION_ID}"

    def wanted(self) -> list[dict[str, Any]]:
        return [
            {
                "Id": notification_id(suffix),
                "QueueArn": self.queue_arn,
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

    @property
    def queue_arn(self) -> str:
        return self.ctx.arn("sqs", queue_name(self.settings))

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
        config = self._config()
        ours = {c.get("Id"): c for c in config.get("QueueConfigurations", []) if self.is_ours(c)}
        old = [c.get("Id") for c in config.get("LambdaFunctionConfigurations", []) if self.is_ours(c)]
        if not ours and not old:
            return MISSING
        drift = [f"rule {rule_id} still invokes the Lambda directly (one run per file)" for rule_id in old]
        for want in self.wanted():
            have = ours.pop(want["Id"], None)
            if have is None:
                drift.append(f"rule {want['Id']} missing")
                continue
            if have.get("QueueArn") != want["QueueArn"]:
                drift.append(f"target {have.get('QueueArn')!r}, want {want['QueueArn']!r}")
            if sorted(have.get("Events", [])) != EVENTS:
                drift.append(f"events {have.get('Events')!r}, want {EVENTS!r}")
            if _rules(have) != _rules(want):
                drift.append(f"filter {_rules(have)}, want {_rules(want)}")
        drift += [f"unexpected rule {rule_id}" for rule_id in ours]
        return Observation(exists=True, drift=tuple(drift))

    def _put(self, include_ours: bool) -> None:
        config = self._config()
        for section, ours in (("LambdaFunctionConfigurations", []), ("QueueConfigurations", self.wanted())):
            others = [c for c in config.get(section, []) if not self.is_ours(c)]
            config[section] = others + (ours if include_ours else [])
            if not config[section]:
                del config[section]
        self.ctx.client("s3").put_bucket_notification_configuration(
            Bucket=self.settings.bucket, NotificationConfiguration=config
        )

    def create(self) -> str:
        self._put(include_ours=True)
        s = self.settings
        patterns = ", ".join(f"{s.raw_prefix}*{suffix}" for suffix in CSV_SUFFIXES)
        return f"ObjectCreated {patterns} -> {queue_name(s)}"

    def repair(self, observed: Observation) -> str:
        self._put(include_ours=True)
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self._put(include_ours=False)
        return "removed from the bucket's notification configuration"


def _rules(config: dict[str, Any]) -> dict[str, str]:
    rules = config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {r["Name"].lower(): r["Value"] for r in rules}
