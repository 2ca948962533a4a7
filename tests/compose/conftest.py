"""Fixtures for checking docker-compose.yaml without a Docker engine (none runs here)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}`` / ``${VAR:-default}`` / ``$$`` substitution, applied recursively."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group("name")) or match.group("default") or ""

    return _VARIABLE.sub(replace, value)


@pytest.fixture(scope="session")
def interpolator() -> Callable[[Any, dict[str, str]], Any]:
    return interpolate


@pytest.fixture(scope="session")
def compose_path() -> Path:
    return Path(__file__).resolve().parents[2] / "docker-compose.yaml"


@pytest.fixture(scope="session")
def compose_raw(compose_path: Path) -> dict[str, Any]:
    """The file as written (anchors and merge keys resolved by the YAML loader)."""
    return yaml.safe_load(compose_path.read_text())


@pytest.fixture(scope="session")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    """The file as Compose would run it with no variables set: every default applied."""
    return interpolate(compose_raw, {})


@pytest.fixture(scope="session")
def compose_schema() -> dict[str, Any]:
    """The Compose Specification JSON schema as vendored in the check-jsonschema package (PyPI).

    The schema is the compose-spec project's (Apache-2.0; its licence ships in the same package
    as builtin_schemas/vendor/licenses/LICENSE.compose-spec). Read from the installed package:
    nothing is downloaded at test time.
    """
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text())
