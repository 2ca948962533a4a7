#!/usr/bin/env bash
# The test command (`make test`, also run by .ci/run): the lint step (ruff, mypy), then the whole
# pytest suite.
# pytest's exit code 5 ("no tests collected") is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/lint.sh || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "ERROR: pytest collected no tests" >&2
  exit 1
fi
exit $rc
