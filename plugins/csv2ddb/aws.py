"""boto3 clients built from Settings, for code that runs outside Airflow (bootstrap, demo, tests).

Inside DAGs use the Amazon provider's hooks (they read the ``aws_default`` connection) instead.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from csv2ddb.settings import Settings

RETRIES = Config(retries={"max_attempts": 10, "mode": "adaptive"})
_loader: Any = None


def session(settings: Settings) -> boto3.Session:
    """A fresh session (credentials resolved anew, standard chain) sharing one model loader.

    Loading the JSON service models is most of a client's creation cost (~0.3 s each here);
    sharing the read-only loader makes every later client nearly free.
    """
    global _loader
    if _loader is None:
        _loader = botocore.session.get_session().get_component("data_loader")
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader)
    return boto3.Session(botocore_session=core, region_name=settings.region)


def client(settings: Settings, service: str, session_: boto3.Session | None = None, **kwargs: Any) -> Any:
    """A low-level client; talks to ``settings.endpoint_url`` when set (the local emulator)."""
    kwargs.setdefault("config", RETRIES)
    if settings.endpoint_url:
        kwargs.setdefault("endpoint_url", settings.endpoint_url)
    return (session_ or session(settings)).client(service, **kwargs)
