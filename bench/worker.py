"""Child-process entry point: run one contender and write its result as JSON.

``python -m bench.worker NAME RESULT_JSON_PATH KWARGS_JSON`` — the harness starts one of these
per contender so that CPU seconds and peak RSS belong to that contender alone. The AWS endpoint
and credentials come from the environment the harness gives it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.contenders import CONTENDERS

ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")


def main(argv: list[str]) -> int:
    name, out_path, kwargs_json = argv
    env = {key: os.environ[key] for key in ENV_KEYS}
    result = CONTENDERS[name](env, **json.loads(kwargs_json))
    Path(out_path).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
