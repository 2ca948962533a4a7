"""The Athena workgroup (query results under ``athena-results/``, a per-query scan cutoff,
settings enforced) and its saved queries (rejects by reason, rows per day, loads per day)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.analytics.athena import saved_queries
from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.analytics_base import AnalyticsResource
from csv2ddb.bootstrap.base import is_error
from csv2ddb.bootstrap.model import MISSING, Observation

MB = 1024 * 1024


class AthenaWorkgroup(AnalyticsResource):
    kind = "athena-workgroup"

    @property
    def name(self) -> str:
        return self.cfg.workgroup

    @property
    def arn(self) -> str:
        return self.ctx.arn("athena", f"workgroup/{self.name}")

    @property
    def configuration(self) -> dict[str, Any]:
        return {
            "ResultConfiguration": {"OutputLocation": self.cfg.athena_output},
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True,
            "BytesScannedCutoffPerQuery": self.cfg.athena_scan_limit_mb * MB,
        }

    def observe(self) -> Observation:
        athena = self.ctx.client("athena")
        # Listed, not asked for by name: a missing workgroup is an InvalidRequestException whose
        # only mark is its message (the emulator's does not even parse), a listing is plain.
        names: set[str] = set()
        kwargs: dict[str, Any] = {}
        while True:
            page = athena.list_work_groups(**kwargs)
            names.update(group["Name"] for group in page.get("WorkGroups", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        if self.name not in names:
            return MISSING
        group = athena.get_work_group(WorkGroup=self.name)["WorkGroup"]
        actual = tags.from_list(athena.list_tags_for_resource(ResourceARN=self.arn).get("Tags"))
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        have = group.get("Configuration") or {}
        drift = [
            f"{key} {have.get(key)!r}, want {want!r}"
            for key, want in self.configuration.items()
            if have.get(key) != want
        ]
        return Observation(exists=True, drift=tuple(drift + tags.drift(actual, self.settings)))

    def create(self) -> str:
        self.ctx.client("athena").create_work_group(
            Name=self.name,
            Description="csv2ddb: the processed zone's queries",
            Configuration=self.configuration,
            Tags=tags.as_list(self.settings.tags),
        )
        return f"results in {self.cfg.athena_output}, scan cutoff {self.cfg.athena_scan_limit_mb} MB"

    def repair(self, observed: Observation) -> str:
        athena = self.ctx.client("athena")
        config = self.configuration
        athena.update_work_group(
            WorkGroup=self.name,
            ConfigurationUpdates={
                "ResultConfigurationUpdates": {"OutputLocation": self.cfg.athena_output},
                "EnforceWorkGroupConfiguration": config["EnforceWorkGroupConfiguration"],
                "PublishCloudWatchMetricsEnabled": config["PublishCloudWatchMetricsEnabled"],
                "BytesScannedCutoffPerQuery": config["BytesScannedCutoffPerQuery"],
            },
        )
        athena.tag_resource(ResourceARN=self.arn, Tags=tags.as_list(self.settings.tags))
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("athena").delete_work_group(WorkGroup=self.name, RecursiveDeleteOption=True)
        return "deleted"


class SavedQueries(AnalyticsResource):
    """The workgroup's named queries (ours: named ``<prefix>-...``; others' are left alone)."""

    kind = "athena-queries"

    @property
    def name(self) -> str:
        return f"{self.cfg.workgroup}/{self.settings.prefix}-*"

    def _ours(self) -> dict[str, dict[str, Any]]:
        athena = self.ctx.client("athena")
        try:
            ids = athena.list_named_queries(WorkGroup=self.cfg.workgroup).get("NamedQueryIds", [])
        except ClientError as exc:
            if is_error(exc, "InvalidRequestException"):
                return {}
            raise
        found = athena.batch_get_named_query(NamedQueryIds=ids).get("NamedQueries", []) if ids else []
        wanted = saved_queries(self.cfg)
        return {q["Name"]: q for q in found if q["Name"] in wanted}

    def observe(self) -> Observation:
        have = self._ours()
        if not have:
            return MISSING
        drift = []
        for name, (_description, sql) in saved_queries(self.cfg).items():
            query = have.get(name)
            if query is None:
                drift.append(f"{name} missing")
            elif query.get("QueryString") != sql or query.get("Database") != self.cfg.database:
                drift.append(f"{name} differs")
        return Observation(exists=True, drift=tuple(drift))

    def _create(self, names: list[str]) -> None:
        athena = self.ctx.client("athena")
        for name in names:
            description, sql = saved_queries(self.cfg)[name]
            athena.create_named_query(
                Name=name,
                Description=description,
                Database=self.cfg.database,
                QueryString=sql,
                WorkGroup=self.cfg.workgroup,
            )

    def create(self) -> str:
        names = list(saved_queries(self.cfg))
        self._create(names)
        return ", ".join(names)

    def repair(self, observed: Observation) -> str:
        self.delete()
        self._create(list(saved_queries(self.cfg)))
        return "; ".join(observed.drift)

    def delete(self) -> str:
        athena = self.ctx.client("athena")
        for query in self._ours().values():
            athena.delete_named_query(NamedQueryId=query["NamedQueryId"])
        return "deleted"
