"""The layers hold: who may import what (docs/architecture.md), and no import circle anywhere.

Read from the source with ``ast`` (every ``import`` statement, module level or inside a
function), so a lazy import that dodges a circle at run time still counts as an edge.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Top-level package (or folder of scripts) -> where its files live.
PACKAGES = {
    "csv2ddb_core": ROOT / "glue" / "csv2ddb_core",
    "csv2ddb": ROOT / "plugins" / "csv2ddb",
    "csv2ddb_dev": ROOT / "dev" / "csv2ddb_dev",
    "bench": ROOT / "bench",
}
SCRIPTS = {
    "glue": [ROOT / "glue" / "csv2ddb_load_job.py"],
    "glue_spark": [ROOT / "glue" / "csv2ddb_spark_job.py"],
    "lambda": sorted((ROOT / "lambda").glob("*.py")),
    "dags": sorted((ROOT / "dags").glob("*.py")),
    "plugins": sorted((ROOT / "plugins").glob("*.py")),
    "infra_bootstrap": [ROOT / "infra_bootstrap.py"],
}
# What each layer may import besides the standard library (top-level names).
ALLOWED = {
    "csv2ddb_core": {"csv2ddb_core", "boto3", "botocore", "urllib3"},
    "glue": {"csv2ddb_core"},
    # The Spark entry script is the only place pyspark may appear: the core stays stdlib + boto3.
    "glue_spark": {"csv2ddb_core", "pyspark"},
    # The Lambda's modules are bundled into one zip, beside each other: they import each other.
    "lambda": {"csv2ddb_core", "boto3", "botocore", *(path.stem for path in (ROOT / "lambda").glob("*.py"))},
    "csv2ddb": {
        "csv2ddb",
        "csv2ddb_core",
        "boto3",
        "botocore",
        "airflow",
        "fastapi",
        "starlette",
        "pydantic",
        # Airflow's own dependencies: the dataset files are YAML checked against a JSON Schema.
        "yaml",
        "jsonschema",
    },
    "dags": {"csv2ddb", "csv2ddb_core", "airflow"},
    "plugins": {"csv2ddb", "csv2ddb_core", "airflow", "fastapi", "starlette"},
    "infra_bootstrap": {"csv2ddb", "csv2ddb_core", "botocore"},
}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
# Optional imports of single core modules, allowed only inside functions (never at import time):
# the processed zone writes Parquet with pyarrow, which Glue's Python shell ships in its analytics
# library set; with the zone off, the core never imports it.
LAZY_ONLY = {"csv2ddb_core.processed": {"pyarrow"}}


def module_files(package: str) -> Iterator[tuple[str, Path]]:
    base = PACKAGES[package]
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(base).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join((package, *parts)), path


def imports_of(path: Path, module: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def top(name: str) -> str:
    return name.split(".", 1)[0]


def layer_files() -> Iterator[tuple[str, str, Path]]:
    for package in ("csv2ddb_core", "csv2ddb"):
        for module, path in module_files(package):
            yield package, module, path
    for layer, paths in SCRIPTS.items():
        for path in paths:
            yield layer, path.stem, path


@pytest.mark.parametrize(("layer", "module", "path"), list(layer_files()), ids=lambda v: str(v))
def test_each_layer_imports_only_what_it_may(layer: str, module: str, path: Path) -> None:
    allowed = ALLOWED[layer] | LAZY_ONLY.get(module, set())
    foreign = {top(name) for name in imports_of(path, module) if top(name) not in STDLIB | allowed}
    assert not foreign, f"{path.relative_to(ROOT)} ({layer}) imports {sorted(foreign)}"


@pytest.mark.parametrize("module", sorted(LAZY_ONLY))
def test_optional_imports_stay_inside_functions(module: str) -> None:
    path = PACKAGES[top(module)] / (module.split(".", 1)[1].replace(".", "/") + ".py")
    tree = ast.parse(path.read_text(), str(path))
    at_import_time = {
        top(alias.name) if isinstance(node, ast.Import) else top(node.module or "")
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not at_import_time & LAZY_ONLY[module], f"{path.relative_to(ROOT)} imports them at module level"


def test_deployed_code_never_imports_dev_code() -> None:
    """plugins/, glue/, lambda/, dags/ and the bootstrap CLI never reach the laptop harness."""
    offenders = [
        str(path.relative_to(ROOT))
        for _, module, path in layer_files()
        if any(top(name) in {"csv2ddb_dev", "bench", "tests"} for name in imports_of(path, module))
    ]
    assert offenders == []


def test_no_import_circle() -> None:
    files = {module: path for package in PACKAGES for module, path in module_files(package)}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        graph[module] = set()
        for name in imports_of(path, module):
            # "from pkg import x" names a module or an attribute: keep the longest module prefix.
            while name and name not in files:
                name = name.rpartition(".")[0]
            # A package's __init__ runs before any of its modules anyway: not an edge of a circle.
            if name and name != module and not module.startswith(name + "."):
                graph[module].add(name)
    cycles = _cycles(graph)
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One representative circle per strongly connected component larger than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_core_parses_as_python_3_9() -> None:
    """Glue Python shell runs 3.9: every core file must parse with 3.9's grammar."""
    for _, path in module_files("csv2ddb_core"):
        ast.parse(path.read_text(), str(path), feature_version=(3, 9))


def test_the_bootstrap_imports_without_airflow() -> None:
    """infra_bootstrap.py and the bench (whose venv has no Airflow) import the bootstrap: what it
    needs of Airflow-side modules it imports inside the functions that use them."""
    import subprocess

    blocked = "import sys\nfor name in ('airflow', 'yaml', 'jsonschema'):\n    sys.modules[name] = None\n"
    done = subprocess.run(
        [sys.executable, "-c", blocked + "import csv2ddb.bootstrap, csv2ddb.engines"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
