"""Stack tags: how resources are marked as ours, and the check done before touching one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from csv2ddb.settings import STACK_TAG_KEY, Settings


def as_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``{"k": "v"}`` -> ``[{"Key": "k", "Value": "v"}]`` (S3, IAM, SNS, Secrets Manager style)."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def from_list(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


def is_owned(actual: Mapping[str, str], settings: Settings) -> bool:
    """Only a resource carrying ``csv2ddb:stack=<prefix>`` is ours to change or delete."""
    return actual.get(STACK_TAG_KEY) == settings.prefix


def drift(actual: Mapping[str, str], settings: Settings) -> list[str]:
    """Tags we set that are missing or changed (extra tags others added are left alone)."""
    wanted = sorted(settings.tags.items())
    return [f"tag {k}={actual.get(k)!r}, want {v!r}" for k, v in wanted if actual.get(k) != v]


def not_owned_note(settings: Settings) -> str:
    return f"exists but is not tagged {STACK_TAG_KEY}={settings.prefix}: not ours, left alone"
