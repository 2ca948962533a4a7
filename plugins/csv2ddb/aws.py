"""boto3 clients built from Settings, for code that runs outside Airflow (bootstrap, demo, tests).

Inside DAGs use the Amazon provider's hooks (they read the ``aws_default`` connection) instead.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from csv2ddb.settings import Settings

_RETRIES = Config(retries={"max_attempts": 10, "mode": "adaptive"})


def session(settings: Settings) -> boto3.Session:
    """A session on the standard credential chain, in the configured region."""
    return boto3.Session(region_name=settings.region)


def client(settings: Settings, service: str, **kwargs: Any) -> Any:
    """A low-level client; talks to ``settings.endpoint_url`` when set (the local emulator)."""
    kwargs.setdefault("config", _RETRIES)
    if settings.endpoint_url:
        kwargs.setdefault("endpoint_url", settings.endpoint_url)
    return session(settings).client(service, **kwargs)
