#!/usr/bin/env bash
# The test commands. `make test` (goal: under 15 minutes): the lint step (ruff, mypy), then every
# test but the user-scale runs. `make test-scale`: only those (marker `scale`: a burst of events, a
# crash mid-burst, the full flights file, 10,000 audit records). CI (.ci/run) runs both, in order.
# `make test` runs on CSV2DDB_TEST_WORKERS xdist workers (default 2, one per core here; 0 = in this
# process): on one worker a core idles about a sixth of the time while tests wait on the emulator
# and Airflow, and a second worker fills it (docs/testing.md#two-workers: 1,728 s -> 1,005 s; three
# workers 1,039 s). A test file is one unit of work (tests/conftest.py pytest_xdist_make_scheduler).
# The scale runs stay on one worker: a burst is meant to have the machine to itself.
# Usage: scripts/test.sh [--scale] [pytest arguments...]
# pytest's exit code 5 ("no tests collected") is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--scale" ]]; then
  shift
  tier=(-m scale)
else
  bash scripts/lint.sh || exit 1
  tier=(-m "not scale" -n "${CSV2DDB_TEST_WORKERS:-2}")
fi
.venv/bin/python -m pytest "${tier[@]}" "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "ERROR: pytest collected no tests" >&2
  exit 1
fi
exit $rc
