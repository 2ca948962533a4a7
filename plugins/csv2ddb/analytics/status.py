"""The analytics step's outcomes, as the audit record's ``analytics_status`` holds them.

Light on purpose (no Airflow or provider import): the Loads page reads them too. Their meaning and
how they combine with the load's own ``status``: ``csv2ddb.analytics.step`` and docs/analytics.md.
"""

from __future__ import annotations

RECONCILED, COUNT_MISMATCH, FAILED, SKIPPED, OFF = "reconciled", "count_mismatch", "failed", "skipped", "off"
ANALYTICS_STATUSES = (RECONCILED, COUNT_MISMATCH, FAILED, SKIPPED, OFF)
