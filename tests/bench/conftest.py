"""Make the repository's ``bench`` folder importable for the benchmark harness tests.

``bench`` is a top-level folder of the repository, not an installed package; it is importable
because pytest runs as ``python -m pytest`` from the repository root (scripts/test.sh). The path
is added here as well so a plain ``pytest`` from the root finds it too.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
