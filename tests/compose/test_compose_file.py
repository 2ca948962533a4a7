"""docker-compose.yaml checked without a Docker engine: schema, services, health, mounts, pins."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]
ALL_SERVICES = {*AIRFLOW_SERVICES, "airflow-init", "postgres", "ministack", "csv2ddb-bootstrap"}


def pin(requirements: Path, package: str) -> str:
    """The exact version ``package==X`` pinned in a requirements file (extras allowed)."""
    pattern = re.compile(rf"^{re.escape(package)}(\[[^\]]*\])?==(?P<version>\S+)\s*$", re.MULTILINE)
    match = pattern.search(requirements.read_text())
    assert match, f"{package} is not pinned with == in {requirements.name}"
    return match.group("version")


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_file_is_valid_against_the_compose_specification(
    compose_raw: dict[str, Any], compose_schema: dict[str, Any]
) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in validator(compose_schema).iter_errors(compose_raw)]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "bad_value"),
    [
        (["services", "airflow-scheduler", "depends_on", "postgres", "condition"], "service_up"),
        (["services", "postgres", "helthcheck"], {"test": ["CMD", "true"]}),  # a typo is not ignored
        (["services", "ministack", "ports"], "127.0.0.1:4566:4566"),  # must be a list
    ],
)
def test_the_schema_check_catches_a_broken_file(
    compose_raw: dict[str, Any], compose_schema: dict[str, Any], path: list[str], bad_value: Any
) -> None:
    """Guards the test above: the schema really rejects what Compose would reject."""
    broken = json.loads(json.dumps(compose_raw))  # a deep copy without YAML's shared anchors
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = bad_value
    errors = list(validator(compose_schema).iter_errors(broken))
    assert errors
    assert any(list(e.absolute_path)[:2] == ["services", path[1]] for e in errors)


def test_services_follow_the_official_airflow_3_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == ALL_SERVICES
    assert [services[s]["command"] for s in AIRFLOW_SERVICES] == [
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
    ]
    assert services["postgres"]["image"] == "postgres:16"
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")


def test_every_airflow_process_shares_jwt_secret_and_execution_api(compose: dict[str, Any]) -> None:
    services = compose["services"]
    envs = [services[s]["environment"] for s in [*AIRFLOW_SERVICES, "airflow-init"]]
    secrets = {e["AIRFLOW__API_AUTH__JWT_SECRET"] for e in envs}
    assert len(secrets) == 1
    assert secrets != {""}
    urls = {e["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] for e in envs}
    assert urls == {"http://airflow-apiserver:8080/execution/"}


def test_aws_default_connection_points_at_the_emulator_service(compose: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
        assert conn["conn_type"] == "aws"
        assert conn["extra"] == {"region_name": "us-east-1", "endpoint_url": "http://ministack:4566"}
        assert env["CSV2DDB_ENDPOINT_URL"] == "http://ministack:4566"
    assert compose["services"]["ministack"]["environment"]["GATEWAY_PORT"] == "4566"


def test_long_running_services_have_healthchecks_and_wait_for_them(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in [*AIRFLOW_SERVICES, "postgres", "ministack"]:
        check = services[name]["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert check.get("retries", 0) >= 3, name
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["ministack"] == {"condition": "service_healthy"}
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["csv2ddb-bootstrap"]["depends_on"] == {"ministack": {"condition": "service_healthy"}}
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_repo_code_is_mounted_read_only(compose: dict[str, Any]) -> None:
    wanted = {
        "./dags": "/opt/airflow/dags",
        "./plugins": "/opt/airflow/plugins",
        "./glue": "/opt/airflow/glue",
        "./lambda": "/opt/airflow/lambda",
        "./infra_bootstrap.py": "/opt/airflow/infra_bootstrap.py",
    }
    for name in [*AIRFLOW_SERVICES, "airflow-init", "csv2ddb-bootstrap"]:
        mounts = {}
        for volume in compose["services"][name]["volumes"]:
            source, target, *mode = volume.split(":")
            mounts[source] = (target, mode)
        for source, target in wanted.items():
            assert mounts[source] == (target, ["ro"]), (name, source)
            assert (REPO / source).exists(), source
    # The plugins mount makes `import csv2ddb` work: Airflow puts plugins/ on sys.path.
    assert (REPO / "plugins" / "csv2ddb" / "__init__.py").exists()


def test_published_ports_listen_on_loopback_only(compose: dict[str, Any]) -> None:
    published = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: use the 'host_ip:host:container' string form"
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
            published[name] = port
    assert published == {"airflow-apiserver": "127.0.0.1:8080:8080", "ministack": "127.0.0.1:4566:4566"}


def test_image_tags_and_installs_match_the_pinned_requirements(compose: dict[str, Any]) -> None:
    airflow = pin(REPO / "requirements.in", "apache-airflow")
    provider = pin(REPO / "requirements.in", "apache-airflow-providers-amazon")
    ministack = pin(REPO / "requirements-emulator.in", "ministack")
    assert (airflow, provider, ministack) == ("3.3.2", "9.39.0", "1.5.33")

    for name in [*AIRFLOW_SERVICES, "airflow-init", "csv2ddb-bootstrap"]:
        service = compose["services"][name]
        assert service["image"] == f"csv2ddb-airflow:{airflow}"
        dockerfile = service["build"]["dockerfile_inline"]
        assert dockerfile.splitlines()[0] == f"FROM apache/airflow:{airflow}-python3.11"
        assert f'"apache-airflow=={airflow}"' in dockerfile
        assert f'"apache-airflow-providers-amazon[aiobotocore]=={provider}"' in dockerfile

    emulator = compose["services"]["ministack"]
    assert emulator["image"] == f"csv2ddb-ministack:{ministack}"
    dockerfile = emulator["build"]["dockerfile_inline"]
    assert f'"ministack=={ministack}"' in dockerfile
    assert "-r /tmp/requirements-emulator.lock" in dockerfile
    assert pin(REPO / "requirements-emulator.lock", "ministack") == ministack


def test_no_real_secrets_only_overridable_local_defaults(compose_raw: dict[str, Any]) -> None:
    """Every password/secret value is ``${VAR:-local default}``, except the emulator's dummy keys."""
    dummy = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    for name, service in compose_raw["services"].items():
        for key, value in service.get("environment", {}).items():
            if key in dummy:
                assert value == dummy[key], (name, key)
            elif (
                re.search(r"PASSWORD|SECRET|FERNET", key)
                and key != "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
            ):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:-[^}]*\}", str(value)), (
                    name,
                    key,
                    "must be ${VAR:-default}",
                )
    conn = compose_raw["x-airflow-common"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "${POSTGRES_PASSWORD:-" in conn


@pytest.mark.parametrize("variable", ["AIRFLOW_PORT", "CSV2DDB_EMULATOR_PORT"])
def test_ports_can_move_but_stay_on_loopback(
    compose_raw: dict[str, Any], variable: str, interpolator: Callable[[Any, dict[str, str]], Any]
) -> None:
    moved = interpolator(compose_raw, {variable: "18080"})
    ports = [p for s in moved["services"].values() for p in s.get("ports", [])]
    assert "127.0.0.1:18080:8080" in ports or "127.0.0.1:18080:4566" in ports
    assert all(p.startswith("127.0.0.1:") for p in ports)
