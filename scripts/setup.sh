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

# The browser tests (tests/ui) drive Debian's chromium with Playwright (Playwright's own browser
# download is not used). Installed with apt when missing: as root directly, else through sudo -n.
install_chromium() {
  command -v chromium >/dev/null 2>&1 && return
  local sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      log "WARNING: chromium is missing and apt needs root: run 'sudo apt-get install -y chromium' (tests/ui need it)"
      return
    fi
  fi
  log "installing chromium (apt) for the browser tests"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
}
install_chromium

# The Spark engine (pyspark 3.5, Glue 5.0's Spark) runs locally on a JVM: Java 17, as on Glue 5.0.
check_java() {
  if ! command -v java >/dev/null 2>&1; then
    log "WARNING: no java on PATH: the Spark engine (tests/spark, engine=spark) needs Java 17;"
    log "         install it with 'apt-get install -y openjdk-17-jre-headless' (Debian/Ubuntu) or 'brew install openjdk@17'"
    return
  fi
  local version; version="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  case "$version" in
    17*|21*) ;;
    *) log "WARNING: java $version found; the Spark engine is tested with Java 17 (Glue 5.0's): install openjdk-17-jre-headless" ;;
  esac
}
check_java

sync_venv .venv requirements.lock install_project
sync_venv .venv-emulator requirements-emulator.lock true
log "ready: .venv ($(.venv/bin/python --version)), .venv-emulator (ministack $(.venv-emulator/bin/python -c 'import importlib.metadata as m; print(m.version("ministack"))'))"
