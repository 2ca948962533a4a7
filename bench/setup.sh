#!/usr/bin/env bash
# Build the benchmark virtualenv .venv-bench from requirements-bench.lock (pinned), after the
# project's own setup (uv, .venv, .venv-emulator). Kept apart from .venv so the test venv stays
# lean: awswrangler (with pyarrow), matplotlib and pyinstrument live only here.
# Idempotent: rebuilt only when the lock file or pyproject.toml changed (hash stamp).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

UV="$(pwd)/.tools/bin/uv"
DIR=.venv-bench
LOCK=requirements-bench.lock
PYTHON_VERSION="${CSV2DDB_PYTHON:-3.11}"
log() { printf '[bench-setup] %s\n' "$*"; }

want="$(sha256sum "$LOCK" pyproject.toml glue/pyproject.toml bench/setup.sh | sha256sum | cut -c1-16)"
if [[ -f "$DIR/.csv2ddb-stamp" ]] && [[ "$(cat "$DIR/.csv2ddb-stamp")" == "$want" ]]; then
  log "$DIR is up to date"
  exit 0
fi
log "building $DIR from $LOCK"
[[ -x "$DIR/bin/python" ]] || "$UV" venv --quiet --python "$PYTHON_VERSION" "$DIR"
"$UV" pip sync --quiet --python "$DIR/bin/python" "$LOCK"
# The csv2ddb library (emulator control, datasets, the count check) without its Airflow
# dependencies, and the load core (csv2ddb_core: the job script and the bench's row functions).
"$UV" pip install --quiet --python "$DIR/bin/python" --no-deps -e . -e glue
echo "$want" > "$DIR/.csv2ddb-stamp"
log "ready: $DIR ($("$DIR/bin/python" --version))"
