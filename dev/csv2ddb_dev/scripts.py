"""Load a file that ships as a script, not as a package module (the Lambda, Glue's entry scripts).

``lambda/`` cannot be imported as a package (``lambda`` is a keyword) and Glue runs its scripts by
path, so the demo and the tests load them from their files; this is the one place that does it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from csv2ddb_dev.paths import REPO_ROOT

LAMBDA_FILE = REPO_ROOT / "lambda" / "trigger_dag.py"


def load_script(path: Path, name: str, register: bool = True) -> ModuleType:
    """The file at ``path`` as module ``name``.

    ``register`` puts it in ``sys.modules`` (dataclasses look their module up while a class is
    built). Leave it off for a module whose functions cloudpickle must send to Spark's workers by
    value: a registered module is pickled by reference, and the workers cannot import it.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a module")
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def lambda_module(name: str = "trigger_dag") -> ModuleType:
    """The S3-event Lambda's handler module, loaded from ``lambda/trigger_dag.py``. Its sibling
    modules (``s3_events``, ``queue_drain``) sit at the top of the Lambda zip, so their folder goes
    on ``sys.path``, as the Lambda runtime has it."""
    folder = str(LAMBDA_FILE.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    return load_script(LAMBDA_FILE, name)
