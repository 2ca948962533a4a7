#!/usr/bin/env bash
# The test commands. `make test` (under 15 minutes): the lint step (ruff, mypy), then every test but
# the user-scale runs. `make test-scale`: only those (marker `scale`: a burst of events, a crash
# mid-burst, the full flights file, 10,000 audit records). CI (.ci/run) runs both, in that order.
# Usage: scripts/test.sh [--scale] [pytest arguments...]
# pytest's exit code 5 ("no tests collected") is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--scale" ]]; then
  shift
  tier=(-m scale)
else
  bash scripts/lint.sh || exit 1
  tier=(-m "not scale")
fi
.venv/bin/python -m pytest "${tier[@]}" "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "ERROR: pytest collected no tests" >&2
  exit 1
fi
exit $rc
