"""Dataset files: the shipped ones pass, and every kind of bad file is refused with a message that
names the file and the field, through the same check CI runs (``python -m csv2ddb.datasets check``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from csv2ddb.datasets.registry import load_all, route
from csv2ddb.datasets.route_table import routing_table
from csv2ddb.datasets.schema import DATASET_SCHEMA
from csv2ddb.load import file_plan
from csv2ddb.load.trigger_form import InvalidLoadRequest, load_params, plan_request
from csv2ddb.settings import load_settings
from csv2ddb_core.contract import WriteOptions
from csv2ddb_core.options import parse_job_args
from csv2ddb_core.routing import parse_routes, route_for

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "dags" / "datasets"
SETTINGS = load_settings({}, prefix="unit")
GOOD = {
    "description": "orders from the shop",
    "owner": "sales-data",
    "files": {"prefix": "raw/orders/", "arrive": "event"},
    "table": {"name": "{prefix}-orders", "partition_key": "order_id:N", "write_mode": "overwrite"},
    "read": {"delimiter": ";", "encoding": "latin-1", "na_values": ["NA"], "types": {"zip": "S"}},
    "reject_tolerance": "0.01",
}


def write(folder: Path, name: str, content: object) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def with_(base: dict, dotted: str, value: object) -> dict:
    data = json.loads(json.dumps(base))
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return data


def test_the_shipped_datasets_pass_the_check_ci_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "csv2ddb.datasets", "check", str(SHIPPED)],
        capture_output=True,
        text=True,
        env={"CSV2DDB_PREFIX": "csv2ddb", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert {"csv2ddb_load__flights", "csv2ddb_load__weather", "csv2ddb_load__planes"} <= {
        line.split()[2] for line in done.stdout.splitlines()
    }


def test_the_published_json_schema_is_the_code_s() -> None:
    assert json.loads((ROOT / "docs" / "dataset.schema.json").read_text()) == DATASET_SCHEMA


def test_a_good_file_gives_a_whole_dataset(tmp_path: Path) -> None:
    write(tmp_path, "orders", GOOD)
    found = load_all(tmp_path, SETTINGS)
    assert found.errors == ()
    (orders,) = found.datasets
    assert (orders.dag_id, orders.table, orders.prefix) == (
        "csv2ddb_load__orders",
        "unit-orders",
        "raw/orders/",
    )
    assert orders.write == {"partition_key": "order_id:N", "write_mode": "overwrite"}
    assert orders.csv == {
        "delimiter": ";",
        "encoding": "latin-1",
        "na_values": "NA",
        "type_map": '{"zip": "S"}',
    }


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            with_(GOOD, "table.partiton_key", "x"),
            "table: Additional properties are not allowed ('partiton_key'",
        ),
        (with_(GOOD, "colour", "red"), "(top level): Additional properties are not allowed ('colour'"),
        (with_(GOOD, "tags", "nyc"), "tags: 'nyc' is not of type 'array'"),
        (with_(GOOD, "table.validate_first", "yes"), "table.validate_first: 'yes' is not of type 'boolean'"),
        (with_(GOOD, "read.types", {"zip": "DATE"}), "read.types.zip: 'DATE' is not one of"),
        (
            with_(GOOD, "read.types", {"order_id": "S"}),
            "read.types.order_id: 'S' contradicts the partition key",
        ),
        (with_(GOOD, "read.encoding", "klingon-8"), "read: --encoding: unknown encoding 'klingon-8'"),
        (
            with_(GOOD, "table.name", "someone-elses"),
            "table.name: 'someone-elses' is not a table this stack may load",
        ),
        (
            with_(GOOD, "table.name", "unit-audit"),
            "table.name: 'unit-audit' is not a table this stack may load",
        ),
        (
            with_(GOOD, "files.prefix", "orders/"),
            "files.prefix: 'orders/' must be a folder under the stack's raw",
        ),
        (with_(GOOD, "files.arrive", "schedule"), "files.schedule: a dataset that arrives by schedule needs"),
        (with_(GOOD, "files.schedule", "@daily"), "files.schedule: a dataset that arrives by event has no"),
        (with_(GOOD, "table.write_mode", "upsert_newer"), "table: --write_mode upsert_newer needs"),
        (with_(GOOD, "reject_tolerance", "lots"), "reject_tolerance:"),
        (with_(GOOD, "processed", "no"), "processed: 'no' is not of type 'boolean'"),
        ("files: [unclosed", "not valid YAML"),
        (with_(GOOD, "read.header", False), "read: --header false needs --columns"),
        (with_(GOOD, "read.columns", ["zip", "zip"]), "read.columns: ['zip', 'zip'] has non-unique"),
        (with_(GOOD, "read.unknown_columns", "drop"), "read.unknown_columns: 'drop' is not one of"),
        (
            with_(with_(GOOD, "read.columns", ["order_id", "zip"]), "read.drop", ["note"]),
            "read.drop: names column(s) ['note'] not in read.columns",
        ),
        (
            with_(with_(GOOD, "read.columns", ["order_id", "zip"]), "read.drop", ["zip"]),
            "read.types.zip: names column 'zip', which is not among the dataset's columns",
        ),
        (with_(GOOD, "read.unknown_columns", "refuse"), "read: --unknown_columns refuse needs --columns"),
        (
            with_(with_(GOOD, "read.columns", ["Order", "zip"]), "read.rename", {"Ordr": "order_id"}),
            "read.rename: names column(s) ['Ordr'] not in read.columns",
        ),
        (
            with_(GOOD, "read.columns", ["order_id", "postcode"]),
            "read.types.zip: names column 'zip', which is not among the dataset's columns",
        ),
        (
            with_(with_(GOOD, "read.columns", ["Order", "zip"]), "read.rename", {"Order": "order"}),
            "table.partition_key: names column 'order_id', which is not among the dataset's columns",
        ),
        (
            with_(
                with_(GOOD, "read.columns", ["order_id", "zip"]),
                "checks",
                {"columns": {"qty": {"not_null": True}}},
            ),
            "checks.columns.qty: names column 'qty', which is not among the dataset's columns",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, content: object, says: str
) -> None:
    path = write(tmp_path, "orders", content)
    write(tmp_path, "customers", with_(GOOD, "files.prefix", "raw/customers/"))
    found = load_all(tmp_path, SETTINGS)
    (error,) = found.errors
    assert str(error).startswith(f"{path}: ")
    assert says in str(error)
    assert [d.name for d in found.datasets] == ["customers"]  # the good file still loads


def test_column_options_reach_the_job_as_csv_options(tmp_path: Path) -> None:
    read = {
        **GOOD["read"],
        "header": False,
        "columns": ["Order No", "zip", "note"],
        "rename": {"Order No": "order_id"},
        "drop": ["note"],
        "unknown_columns": "refuse",
    }
    # A column check may judge a dropped column (it is read); nothing else may name it.
    checks = {"columns": {"note": {"max_length": 200}}}
    write(tmp_path, "orders", {**GOOD, "read": read, "checks": checks})
    (orders,) = load_all(tmp_path, SETTINGS).datasets
    assert {k: orders.csv[k] for k in ("header", "columns", "rename", "drop", "unknown_columns")} == {
        "header": "false",
        "columns": '["Order No", "zip", "note"]',
        "rename": '{"Order No": "order_id"}',
        "drop": '["note"]',
        "unknown_columns": "refuse",
    }
    # The way to the job: the run's plan carries them, and the job parses what the plan passes.
    request = plan_request({"key": "raw/orders/a.csv"}, "manual", None, SETTINGS, orders)
    argv = [part for name, value in request.csv_options.items() for part in (f"--{name}", value)]
    args = parse_job_args(
        [
            "--source_bucket",
            "b",
            "--source_key",
            "raw/orders/a.csv",
            "--table",
            "t",
            "--run_id",
            "r-1",
            *argv,
        ],
        env={},
    )
    assert (args.header, args.columns, args.rename, args.drop, args.unknown_columns) == (
        False,
        ("Order No", "zip", "note"),
        {"Order No": "order_id"},
        ("note",),
        "refuse",
    )


def test_processed_false_turns_the_zone_off_for_the_dataset_s_loads_only(tmp_path: Path) -> None:
    """``processed: false`` (docs/datasets.md): its loads' Glue runs get ``--processed false`` although
    the stack's DefaultArguments say true; a dataset without the key, or with true, follows the stack;
    a run's conf may turn it off for one load, never on against its dataset's false."""
    from csv2ddb.engines import PYTHONSHELL

    assert SETTINGS.load.processed  # the product default: every verified load also lands as Parquet
    write(tmp_path, "orders", {**GOOD, "processed": False})
    write(tmp_path, "customers", with_(GOOD, "files.prefix", "raw/customers/"))
    write(tmp_path, "shops", {**with_(GOOD, "files.prefix", "raw/shops/"), "processed": True})
    found = {d.name: d for d in load_all(tmp_path, SETTINGS).datasets}
    assert (found["orders"].processed, found["customers"].processed, found["shops"].processed) == (
        False,
        None,
        True,
    )

    def zone_argument(dataset: str, conf: dict) -> str:
        key = f"{found[dataset].prefix}a.csv"
        request = plan_request({"key": key, **conf}, "manual", None, SETTINGS, found[dataset])
        load = {"run_id": "r1", "bucket": "b", "key": key, "table": "t", "reject_tolerance": "0"}
        decision = file_plan.Decision(WriteOptions())
        plan = file_plan.decide(load, decision, {}, None, SETTINGS, processed=request.processed)
        loaded = file_plan.FilePlan.from_xcom(plan.to_xcom())  # as the Glue task receives it
        return loaded.run_arguments(SETTINGS, PYTHONSHELL)["--processed"]

    assert zone_argument("orders", {}) == "false"
    assert zone_argument("orders", {"processed": True}) == "false"  # the dataset's false wins
    assert zone_argument("customers", {}) == "true"
    assert zone_argument("shops", {}) == "true"
    assert zone_argument("customers", {"processed": False}) == "false"  # one load, by its conf
    assert zone_argument("customers", {"processed": "false"}) == "false"
    with pytest.raises(InvalidLoadRequest, match="processed"):
        zone_argument("customers", {"processed": "perhaps"})


def test_overlapping_prefixes_are_refused_on_both_sides(tmp_path: Path) -> None:
    write(tmp_path, "orders", GOOD)
    write(tmp_path, "orders_eu", with_(GOOD, "files.prefix", "raw/orders/eu/"))
    write(tmp_path, "customers", with_(GOOD, "files.prefix", "raw/customers/"))
    found = load_all(tmp_path, SETTINGS)
    assert [d.name for d in found.datasets] == ["customers"]
    assert sorted(Path(e.path).stem for e in found.errors) == ["orders", "orders_eu"]
    assert all("overlaps" in str(e) and e.where == "files.prefix" for e in found.errors)
    done = subprocess.run(
        [sys.executable, "-m", "csv2ddb.datasets", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"CSV2DDB_PREFIX": "unit", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 1
    assert "orders_eu.yaml: files.prefix: 'raw/orders/eu/' overlaps 'raw/orders/'" in done.stderr


def test_keys_route_to_one_dataset_or_none_in_python_and_in_the_lambda_s_table(tmp_path: Path) -> None:
    write(tmp_path, "orders", GOOD)
    write(tmp_path, "customers", with_(GOOD, "files.prefix", "raw/customers/"))
    found = load_all(tmp_path, SETTINGS)
    routes = parse_routes(routing_table(found.datasets))
    for key, dataset in (
        ("raw/orders/2024/a.csv", "orders"),
        ("raw/customers/b.csv", "customers"),
        ("raw/returns/c.csv", None),
        ("raw/ordersx.csv", None),
    ):
        in_python = route(found.datasets, key)
        in_lambda = route_for(routes, key)
        assert (in_python.name if in_python else None) == dataset
        assert (in_lambda["dataset"] if in_lambda else None) == dataset


def test_a_dataset_s_form_asks_only_for_what_the_file_does_not_fix(tmp_path: Path) -> None:
    write(tmp_path, "orders", GOOD)
    (orders,) = load_all(tmp_path, SETTINGS).datasets
    form = load_params(SETTINGS, orders)
    assert {"key", "prefix", "reject_tolerance"} <= set(form)
    assert not {"table", "bucket", "partition_key", "delimiter", "encoding", "engine", "write_mode"} & set(
        form
    )
    assert form["reject_tolerance"]["default"] == "0.01"
    assert all("null" in spec["type"] for spec in form.values())  # every field optional in the form
    # Whatever the conf says, the dataset's options hold; keys outside its prefix are refused.
    request = plan_request(
        {"key": "raw/orders/a.csv", "table": "unit-other", "delimiter": ","}, "manual", None, SETTINGS, orders
    )
    assert (request.table, request.csv_options["delimiter"], request.dataset) == (
        "unit-orders",
        ";",
        "orders",
    )
    assert request.options == {"partition_key": "order_id:N", "write_mode": "overwrite"}
    with pytest.raises(ValueError, match="outside raw/orders/"):
        plan_request({"key": "raw/customers/a.csv"}, "manual", None, SETTINGS, orders)
    scheduled = plan_request({}, "scheduled", "2024-03-01", SETTINGS, orders)
    assert (scheduled.mode, scheduled.prefix) == ("partition", "raw/orders/dt=2024-03-01/")


def test_a_dataset_declares_checks_checked_by_the_core(tmp_path: Path) -> None:
    checks = {"columns": {"zip": {"not_null": True, "max_length": 5}}, "file": {"row_count": {"min": 1}}}
    write(tmp_path, "orders", {**GOOD, "checks": checks, "on_conflict": "keep_first"})
    (orders,) = load_all(tmp_path, SETTINGS).datasets
    assert orders.checks["columns"]["zip"]["max_length"] == 5
    assert orders.on_conflict == "keep_first"
    request = plan_request({"key": "raw/orders/a.csv"}, "manual", None, SETTINGS, orders)
    assert json.loads(request.checks)["columns"]["zip"]["not_null"] is True
    assert request.on_conflict == "keep_first"
    write(tmp_path, "orders", {**GOOD, "checks": {"columns": {"zip": {"between": {"min": 5, "max": 1}}}}})
    (error,) = load_all(tmp_path, SETTINGS).errors
    assert error.where == "checks"
    assert "between" in str(error)
