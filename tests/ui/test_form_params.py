"""The csv2ddb_load trigger form, as Airflow 3's UI reads its params.

The UI marks a field required when its schema type does not include "null" (isParamRequired.tsx),
even with a default of ""; one empty required field keeps the Trigger and Run Backfill buttons
disabled. The browser test (test_loads_browser.py) checks the rendered form; this checks the rule
for every field, fast.
"""

from __future__ import annotations

import jsonschema
import pytest
from csv2ddb.load.trigger_form import EVENT_SECTION, TOLERANCE_PATTERN, load_params, plan_request
from csv2ddb.settings import load_settings
from csv2ddb_core.contract import TOLERANCE_PATTERN as CORE_TOLERANCE_PATTERN

SETTINGS = load_settings({}, prefix="form")
PARAMS = load_params(SETTINGS)


def _schema(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in ("default", "title", "description", "section")}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_no_field_is_required_in_the_form(name: str) -> None:
    types = PARAMS[name]["type"]
    assert isinstance(types, list), f"{name}: type {types!r} makes the field required in Airflow 3's form"
    assert "null" in types, name
    assert PARAMS[name]["title"], name
    assert PARAMS[name]["description"], name


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_defaults_and_an_emptied_field_are_valid(name: str) -> None:
    schema = _schema(PARAMS[name])
    jsonschema.validate(PARAMS[name]["default"], schema)
    jsonschema.validate(None, schema)  # what the form sends for a field a person emptied


def test_what_to_load_comes_first_the_event_fields_last_in_a_closed_section() -> None:
    names = list(PARAMS)
    assert names[:2] == ["key", "prefix"]
    assert "section" not in PARAMS["key"]  # no section: Airflow's default one, open when the form opens
    assert "section" not in PARAMS["prefix"]
    event = [n for n in names if PARAMS[n].get("section") == EVENT_SECTION]
    assert event == ["etag", "version_id", "size", "sequencer", "objects"]
    assert names[-len(event) :] == event


def test_the_tolerance_rule_is_the_core_contract() -> None:
    assert TOLERANCE_PATTERN is CORE_TOLERANCE_PATTERN
    schema = _schema(PARAMS["reject_tolerance"])
    for ok in ("0", "25", "0.01", "1.0", ".5"):
        jsonschema.validate(ok, schema)
    for bad in ("-1", "1%", "1.5", "abc"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_a_form_run_with_only_a_key_uses_every_default() -> None:
    """Exactly the conf the UI sends when a person fills only the key."""
    conf = {name: None for name in PARAMS} | {"key": "raw/x.csv"}
    request = plan_request(conf, "manual", None, SETTINGS)
    assert (request.mode, request.key, request.bucket, request.table) == (
        "object",
        "raw/x.csv",
        SETTINGS.bucket,
        SETTINGS.table,
    )
    assert request.reject_tolerance == SETTINGS.load.reject_tolerance
    assert request.expected_etag == ""


def test_a_backfill_run_with_neither_key_nor_prefix_loads_its_day() -> None:
    conf = {name: None for name in PARAMS}
    request = plan_request(conf, "backfill", "2024-03-05", SETTINGS)
    assert (request.mode, request.prefix, request.recursive) == ("partition", "raw/dt=2024-03-05/", False)


def test_the_count_check_choice_reaches_the_count_step() -> None:
    """The Checks section's enum is read per run by the verify task (not a field for show)."""
    from csv2ddb.load import counts, steps

    assert PARAMS["count_method"]["enum"] == [None, *counts.METHODS]
    assert steps.count_method({"count_method": None}, SETTINGS) == SETTINGS.load.count_method
    assert steps.count_method({"count_method": counts.BY_SCAN}, SETTINGS) == counts.BY_SCAN
