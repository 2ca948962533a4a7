"""docs/configuration.md's settings table is the one generated from the code (each ``Settings``
field's default and meaning, ``python -m csv2ddb.settings``): every setting documented, nothing
documented that the code does not read, no meaning that drifted."""

from __future__ import annotations

from pathlib import Path

from csv2ddb.setting_fields import documented
from csv2ddb.settings import SECTIONS, configuration_table, describe_settings

START = "<!-- generated from plugins/csv2ddb/settings.py by `python -m csv2ddb.settings`; a test compares -->"
END = "<!-- end of the generated table -->"


def test_the_docs_table_is_the_generated_one(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "configuration.md").read_text()
    block = doc.split(START, 1)[1].split(END, 1)[0].lstrip("\n")
    assert block == configuration_table(), "regenerate it: python -m csv2ddb.settings"


def test_every_setting_says_what_it_means() -> None:
    rows = describe_settings()
    assert [env for env, _, doc in rows if len(doc.strip()) < 5] == []
    settings = sum(len(documented(cls)) for _, cls, _ in SECTIONS)
    assert len({env for env, _, _ in rows}) == len(rows) == settings
