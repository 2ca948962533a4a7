"""The shape every resource module fills in, and the small helpers they share.

A resource answers ``observe()`` (exists? ours? how does it differ from its spec?) and knows
how to ``create()``, ``repair()`` and ``delete()`` itself. ``stack.py`` turns those into the
idempotent create / tag-checked delete / status of the whole stack.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import Observation
from csv2ddb.settings import Settings


class Resource(ABC):
    kind: str = "resource"
    # A resource of ours the stack no longer specifies (e.g. the staleness alarm of a removed
    # dataset): ``create`` deletes it rather than repairing it.
    retired: bool = False

    def __init__(self, ctx: StackContext) -> None:
        self.ctx = ctx

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    @abstractmethod
    def name(self) -> str:
        """The resource's name as the user sees it (from settings)."""

    @property
    def enabled(self) -> bool:
        """False when settings say the bootstrap does not manage this resource."""
        return True

    @property
    def disabled_reason(self) -> str:
        return ""

    @abstractmethod
    def observe(self) -> Observation: ...

    @abstractmethod
    def create(self) -> str:
        """Create it from nothing; returns a short detail for the report."""

    @abstractmethod
    def repair(self, observed: Observation) -> str:
        """Bring an existing, owned resource back to its spec (fix ``observed.drift``)."""

    @abstractmethod
    def delete(self) -> str:
        """Remove an existing, owned resource."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_error(exc: ClientError, *codes: str) -> bool:
    return error_code(exc) in codes


_LIST_KEYS = {"Action", "Resource", "NotAction", "NotResource"}


def canonical_policy(document: Any) -> str:
    """A policy as comparable text: IAM may hand back strings where we sent one-item lists."""
    if isinstance(document, str):
        # botocore decodes IAM's URL-encoded documents; other clients may hand back the raw form.
        document = json.loads(unquote(document) if document.startswith("%7B") else document)

    def norm(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [norm(v) for v in value]
            if key in _LIST_KEYS or all(isinstance(i, str) for i in items):
                return sorted(items)
            return items
        if isinstance(value, str) and key in _LIST_KEYS:
            return [value]
        return value

    return json.dumps(norm(document), sort_keys=True)
