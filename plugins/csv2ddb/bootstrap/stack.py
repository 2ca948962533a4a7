"""The whole stack: resources in dependency order, and the three operations over them.

``create_stack`` is idempotent (observe, then create / repair / leave alone), ``delete_stack``
goes in reverse order and touches only resources carrying our stack tag, ``stack_status``
only reads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from csv2ddb.bootstrap.analytics_stack import analytics_resources
from csv2ddb.bootstrap.base import Resource
from csv2ddb.bootstrap.bucket import Bucket
from csv2ddb.bootstrap.context import Sources, StackContext
from csv2ddb.bootstrap.dynamodb_tables import audit_table, items_table
from csv2ddb.bootstrap.events import ClaimsTable, EventDeadLetterQueue, EventQueue, EventSourceMapping
from csv2ddb.bootstrap.glue_jobs import GlueJob
from csv2ddb.bootstrap.iam_roles import job_role, lambda_role
from csv2ddb.bootstrap.lambda_function import TriggerFunction
from csv2ddb.bootstrap.model import (
    ABSENT,
    CREATED,
    DELETED,
    KEPT,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Change,
    ForeignResourceError,
    ResourceStatus,
)
from csv2ddb.bootstrap.routing_table import RoutingTable
from csv2ddb.bootstrap.s3_trigger import BucketNotification
from csv2ddb.bootstrap.script import CoreWheel, GlueScript
from csv2ddb.bootstrap.secret import AirflowApiSecret
from csv2ddb.bootstrap.sns_topic import AlertsTopic
from csv2ddb.bootstrap.tags import not_owned_note
from csv2ddb.engines import glue_engines
from csv2ddb.settings import Settings

log = logging.getLogger(__name__)


def resources(ctx: StackContext) -> list[Resource]:
    """Creation order: each resource comes after what it refers to. Each Glue engine
    (``csv2ddb.engines``) has its script, its role and its job."""
    engines = glue_engines()
    return [
        Bucket(ctx),
        *(GlueScript(ctx, spec) for spec in engines),
        CoreWheel(ctx),
        RoutingTable(ctx),
        *(job_role(ctx, spec) for spec in engines),
        lambda_role(ctx),
        items_table(ctx),
        audit_table(ctx),
        AlertsTopic(ctx),
        *analytics_resources(ctx),  # catalog, workgroup, alarms (to the topic), dashboard
        AirflowApiSecret(ctx),
        *(GlueJob(ctx, spec) for spec in engines),
        EventDeadLetterQueue(ctx),
        EventQueue(ctx),
        ClaimsTable(ctx),
        TriggerFunction(ctx),
        EventSourceMapping(ctx),
        BucketNotification(ctx),
    ]


def _context(settings: Settings, sources: Sources | None, env: Mapping[str, str] | None) -> StackContext:
    return StackContext(settings, sources or Sources(), None if env is None else dict(env))


def ensure(resource: Resource) -> Change:
    """Create the resource, repair its drift, or report it unchanged; a retired one is deleted."""
    if not resource.enabled:
        return Change(resource.kind, resource.name, SKIPPED, resource.disabled_reason)
    if resource.retired:
        return remove(resource)
    observed = resource.observe()
    if not observed.exists:
        change = Change(resource.kind, resource.name, CREATED, resource.create())
    elif not observed.owned:
        raise ForeignResourceError(f"{resource.kind} {resource.name} {not_owned_note(resource.settings)}")
    elif observed.drift:
        change = Change(resource.kind, resource.name, UPDATED, resource.repair(observed))
    else:
        change = Change(resource.kind, resource.name, UNCHANGED, "; ".join(observed.notes))
    log.info("%-17s %-45s %s %s", change.kind, change.name, change.action, change.detail)
    return change


def remove(resource: Resource) -> Change:
    """Delete the resource if it exists and carries our stack tag; otherwise say why not."""
    if not resource.enabled:
        return Change(resource.kind, resource.name, SKIPPED, resource.disabled_reason)
    observed = resource.observe()
    if not observed.exists:
        change = Change(resource.kind, resource.name, ABSENT, "nothing to delete")
    elif not observed.owned:
        change = Change(resource.kind, resource.name, KEPT, not_owned_note(resource.settings))
    else:
        change = Change(resource.kind, resource.name, DELETED, resource.delete())
    log.info("%-17s %-45s %s %s", change.kind, change.name, change.action, change.detail)
    return change


def status(resource: Resource) -> ResourceStatus:
    if not resource.enabled:
        reason = resource.disabled_reason
        return ResourceStatus(resource.kind, resource.name, False, True, reason, enabled=False)
    observed = resource.observe()
    if not observed.exists:
        detail = "missing"
    elif not observed.owned:
        detail = not_owned_note(resource.settings)
    else:
        detail = "; ".join(observed.drift or observed.notes) or "matches spec"
    return ResourceStatus(resource.kind, resource.name, observed.exists, observed.matches, detail)


def refuse_foreign(stack: list[Resource]) -> None:
    """Before changing anything: a same-named resource that is not ours stops the whole create."""
    foreign = [f"{r.kind} {r.name}" for r in stack if r.enabled and not r.observe().owned]
    if foreign:
        raise ForeignResourceError(
            f"{', '.join(foreign)} {not_owned_note(stack[0].settings)}; nothing was changed. "
            "Choose another CSV2DDB_PREFIX (or names) or remove them yourself."
        )


def create_stack(
    settings: Settings, *, sources: Sources | None = None, env: Mapping[str, str] | None = None
) -> list[Change]:
    stack = resources(_context(settings, sources, env))
    refuse_foreign(stack)
    return [ensure(r) for r in stack]


def delete_stack(settings: Settings, *, sources: Sources | None = None) -> list[Change]:
    ctx = _context(settings, sources, None)
    return [remove(r) for r in reversed(resources(ctx))]


def stack_status(
    settings: Settings, *, sources: Sources | None = None, env: Mapping[str, str] | None = None
) -> list[ResourceStatus]:
    ctx = _context(settings, sources, env)
    return [status(r) for r in resources(ctx)]
