"""docs/configuration.md documents every setting the code reads, and nothing it does not."""

from __future__ import annotations

import re
from pathlib import Path

from csv2ddb.settings import describe_settings


def test_every_setting_is_documented_and_every_documented_variable_exists(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `(CSV2DDB_[A-Z0-9_]+)` \|", doc, flags=re.MULTILINE))
    in_code = {env for env, _default, _name in describe_settings()}
    assert in_code - documented == set(), "settings missing from docs/configuration.md"
    assert documented - in_code == set(), "docs/configuration.md lists variables the code does not read"
