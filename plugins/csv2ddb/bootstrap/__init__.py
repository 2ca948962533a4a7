"""Create, delete and inspect every AWS resource csv2ddb needs (``infra_bootstrap.py`` is the CLI).

One module per resource kind; ``stack.py`` orders them. Works against real AWS (standard
credential chain; account and partition from STS) and against the local emulator.
"""

from csv2ddb.bootstrap.context import Sources
from csv2ddb.bootstrap.model import (
    BootstrapError,
    Change,
    ForeignResourceError,
    ResourceStatus,
)
from csv2ddb.bootstrap.stack import create_stack, delete_stack, stack_status

__all__ = [
    "BootstrapError",
    "Change",
    "ForeignResourceError",
    "ResourceStatus",
    "Sources",
    "create_stack",
    "delete_stack",
    "stack_status",
]
