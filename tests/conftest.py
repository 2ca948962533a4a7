"""Shared fixtures: the real local AWS emulator (ministack on a free loopback port)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from csv2ddb.settings import Settings, load_settings
from csv2ddb_dev.emulator import Emulator, start_emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One ministack for the whole session, stopped by PID (process group) at the end."""
    em = start_emulator(tmp_path_factory.mktemp("ministack"))
    try:
        yield em
    finally:
        em.stop()


@pytest.fixture
def aws_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every boto3 client (and settings) of this test at the emulator."""
    env = emulator.client_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(leak, raising=False)
    return env


@pytest.fixture
def boto_session(aws_env: dict[str, str]) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=aws_env["AWS_DEFAULT_REGION"],
    )


@pytest.fixture
def stack_settings(aws_env: dict[str, str]) -> Settings:
    """Settings with a unique stack prefix, so tests sharing one emulator never collide."""
    return load_settings(aws_env, prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
