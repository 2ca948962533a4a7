"""What the bootstrap reports: one ``Change`` per resource touched, one ``ResourceStatus`` per check.

Kept free of boto3 so the CLI and tests can format results without AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

# Change actions, in the words the CLI prints.
CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
DELETED = "deleted"
ABSENT = "absent"  # delete found nothing to remove (half-created stack)
KEPT = "kept"  # delete refused: the resource is not tagged as ours
SKIPPED = "skipped"  # disabled by settings (e.g. create_table_in_bootstrap=False)


class BootstrapError(RuntimeError):
    """The stack cannot be brought to its spec; the message says what to do."""


class ForeignResourceError(BootstrapError):
    """A resource with our name exists but does not carry our stack tag: we never modify it."""


@dataclass(frozen=True)
class Observation:
    """What one resource looks like now, compared with its spec.

    ``drift`` lists every difference (empty = matches). ``notes`` are facts worth showing
    that are not drift, e.g. a field the endpoint does not report and so cannot be verified.
    """

    exists: bool
    owned: bool = True
    drift: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return self.exists and self.owned and not self.drift


MISSING = Observation(exists=False)


@dataclass(frozen=True)
class Change:
    """One resource's outcome of ``create_stack`` / ``delete_stack``."""

    kind: str
    name: str
    action: str
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.action in {CREATED, UPDATED, DELETED}


@dataclass(frozen=True)
class ResourceStatus:
    """One row of ``stack_status``: does it exist, does it match the spec, and why not."""

    kind: str
    name: str
    exists: bool
    matches: bool
    detail: str = ""
    enabled: bool = True  # False: settings say this resource is not managed (always "matches")

    @property
    def ok(self) -> bool:
        return not self.enabled or (self.exists and self.matches)
