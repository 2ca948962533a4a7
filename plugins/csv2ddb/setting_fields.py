"""What a setting is: a dataclass field that carries its meaning and is read from ONE ``CSV2DDB_*``
environment variable. Every settings group (:mod:`csv2ddb.settings` and the groups it holds) is
built from these, and ``docs/configuration.md`` is generated from them, so the docs cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, field, fields
from typing import Any

ENV_PREFIX = "CSV2DDB_"


def setting(default: Any, doc: str, *, shown: str | None = None) -> Any:
    """A field and what it means. ``shown``: the default as the docs show it, when it is derived
    (``<prefix>-data``) rather than the value itself."""
    return field(default=default, metadata={"doc": doc, "shown": shown})


def setting_factory(factory: Callable[[], Any], doc: str) -> Any:
    """A field with a mutable default (made per instance), and what it means."""
    return field(default_factory=factory, metadata={"doc": doc, "shown": None})


def env_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true/false)")


def parse_env(variable: str, raw: str, annotation: Any) -> Any:
    """One variable's text as its field's type, or a ValueError that names the variable."""
    kind = str(annotation)
    try:
        if kind == "bool":
            return env_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"{variable}={raw!r}: expected {kind}") from exc
    if kind.startswith("Mapping"):
        # "k1=v1,k2=v2"
        pairs = [p for p in raw.split(",") if p.strip()]
        bad = [p for p in pairs if "=" not in p]
        if bad:
            raise ValueError(f"{variable}: expected k=v pairs, got {bad}")
        return {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}
    if kind == "str | None":
        return raw or None
    return raw


def documented(cls: type) -> list[Field[Any]]:
    """A group's settings: its fields that carry a meaning (a nested group is not one)."""
    return [f for f in fields(cls) if "doc" in f.metadata]


def read_env(cls: type, env: Mapping[str, str], env_prefix: str) -> dict[str, Any]:
    """The fields of group ``cls`` that ``env`` sets, each from ``<env_prefix><FIELD>``."""
    values: dict[str, Any] = {}
    for f in documented(cls):
        variable = f"{env_prefix}{f.name.upper()}"
        raw = env.get(variable)
        if raw is not None:
            values[f.name] = parse_env(variable, raw, f.type)
    return values


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value in ("", {}):
        return "empty"
    return f"`{value}`"


def describe(cls: type, env_prefix: str) -> list[tuple[str, str, str]]:
    """(variable, default as the docs show it, what it means), one row per setting of ``cls``."""
    rows = []
    for f in documented(cls):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        shown = f.metadata.get("shown") or _shown(default)
        rows.append((f"{env_prefix}{f.name.upper()}", shown, str(f.metadata["doc"])))
    return rows
