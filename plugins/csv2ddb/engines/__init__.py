"""The registry of engines: every module in this package is one engine, holding its
:class:`csv2ddb.engine_spec.EngineSpec` as ``SPEC`` (and, for a Glue engine, its job's settings
group). Adding an engine is one module here plus its entry script in ``glue/``: the settings, the
job definitions, the trigger form, ``CSV2DDB_ENGINE`` and the bootstrap's job, script and role all
read this registry (docs/architecture.md, "A new engine").
"""

from __future__ import annotations

import importlib
import pkgutil

from csv2ddb_core.contract import ENGINE_INLINE, ENGINE_PYTHONSHELL, ENGINE_SPARK

from csv2ddb.engine_spec import EngineSpec, GlueJobSettings

PYTHONSHELL = ENGINE_PYTHONSHELL
SPARK = ENGINE_SPARK
INLINE = ENGINE_INLINE


def _discover() -> dict[str, EngineSpec]:
    """Each module of this package's ``SPEC``, by engine name; the default engine (the Python shell)
    first, then by name. A module without a ``SPEC`` is a mistake, not a helper: refused."""
    found: dict[str, EngineSpec] = {}
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        spec = getattr(importlib.import_module(f"{__name__}.{module}"), "SPEC", None)
        if not isinstance(spec, EngineSpec):
            raise TypeError(f"csv2ddb.engines.{module} holds no EngineSpec named SPEC")
        if spec.name in found:
            raise TypeError(f"two engine modules name the engine {spec.name!r}")
        found[spec.name] = spec
    return {PYTHONSHELL: found.pop(PYTHONSHELL), **found}


ENGINES: dict[str, EngineSpec] = _discover()


def engine_spec(engine: str) -> EngineSpec:
    try:
        return ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}") from None


def glue_engines() -> list[EngineSpec]:
    """The engines that run as a Glue job (each has a job, a script and a role in the stack)."""
    return [spec for spec in ENGINES.values() if not spec.in_worker]


def job_groups() -> dict[str, type[GlueJobSettings]]:
    """Each Glue engine's settings group, by engine name."""
    return {spec.name: spec.job for spec in ENGINES.values() if spec.job is not None}
