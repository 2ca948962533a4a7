#!/usr/bin/env bash
# Install everything csv2ddb needs, from pinned lock files, into project-local virtualenvs:
#   .tools/          uv itself (pinned), bootstrapped with the machine's python3 and pip
#   .venv/           Airflow 3, the Amazon provider, boto3, pytest, ruff (requirements.lock)
#   .venv-emulator/  the ministack AWS emulator, with its own botocore pin
# Idempotent: a venv is rebuilt only when its lock file changed (hash stamp).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.8"
PYTHON_VERSION="${CSV2DDB_PYTHON:-3.11}"
ROOT="$(pwd)"
UV="$ROOT/.tools/bin/uv"

log() { printf '[setup] %s\n' "$*"; }

if [[ ! -x "$UV" ]] || [[ "$("$UV" --version | awk '{print $2}')" != "$UV_VERSION" ]]; then
  log "installing uv==$UV_VERSION into .tools/"
  python3 -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

stamp_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

sync_venv() {  # sync_venv DIR LOCKFILE [extra uv args...]
  local dir="$1" lock="$2"; shift 2
  local want; want="$(stamp_of "$lock" pyproject.toml glue/pyproject.toml)"
  if [[ -f "$dir/.csv2ddb-stamp" ]] && [[ "$(cat "$dir/.csv2ddb-stamp")" == "$want" ]]; then
    log "$dir is up to date"
    return
  fi
  log "building $dir from $lock"
  [[ -x "$dir/bin/python" ]] || "$UV" venv --quiet --python "$PYTHON_VERSION" "$dir"
  "$UV" pip sync --quiet --python "$dir/bin/python" "$lock"
  "$@"
  echo "$want" > "$dir/.csv2ddb-stamp"
}

# The project (plugins/csv2ddb + the dev harness) and the load core (glue/, the package Glue gets
# as a wheel): the emulator runs Glue Python-shell jobs with this venv's python3.
install_project() { "$UV" pip install --quiet --python .venv/bin/python --no-deps -e . -e glue; }

sync_venv .venv requirements.lock install_project
sync_venv .venv-emulator requirements-emulator.lock true
log "ready: .venv ($(.venv/bin/python --version)), .venv-emulator (ministack $(.venv-emulator/bin/python -c 'import importlib.metadata as m; print(m.version("ministack"))'))"
