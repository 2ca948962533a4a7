"""What every analytics resource shares: its names (``csv2ddb.analytics.config``), and that the
bootstrap manages it only while the analytics side is on (``CSV2DDB_PROCESSED``): off, the stack
reports it ``skipped`` and needs no Athena or CloudWatch."""

from __future__ import annotations

from csv2ddb.analytics.config import Analytics, analytics_config
from csv2ddb.bootstrap.base import Resource
from csv2ddb.bootstrap.context import StackContext


class AnalyticsResource(Resource):
    def __init__(self, ctx: StackContext) -> None:
        super().__init__(ctx)
        self.cfg: Analytics = analytics_config(ctx.settings)

    @property
    def enabled(self) -> bool:
        return self.settings.load.processed

    @property
    def disabled_reason(self) -> str:
        return "CSV2DDB_PROCESSED is off (docs/analytics.md)"
