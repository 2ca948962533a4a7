#!/usr/bin/env bash
# The lint step of `make lint` and `make test`: ruff (rules and format), mypy on the deployed
# code (the load core, its Python-shell entry script and plugins/csv2ddb; settings in pyproject.toml),
# then `datasets check` on the shipped dataset files.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy -p csv2ddb_core -p csv2ddb
.venv/bin/mypy glue/csv2ddb_load_job.py
# The dataset files (dags/datasets/): a bad one is refused here, naming the file and the field.
PYTHONPATH=plugins .venv/bin/python -m csv2ddb.datasets check >/dev/null
