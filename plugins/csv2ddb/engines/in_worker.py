"""The inline engine: the load core in the Airflow worker itself (``csv2ddb.load.inline``), no Glue
job: for a small file a Glue start costs more than the load."""

from __future__ import annotations

from csv2ddb_core.contract import ENGINE_INLINE

from csv2ddb.engine_spec import EngineSpec

SPEC = EngineSpec(
    name=ENGINE_INLINE,
    description=" (inline, in the Airflow worker)",
    summary="in the Airflow worker, no Glue run (small files)",
    stages_imports=False,
)
