"""Dataset DAGs load their files the dataset's way (real Airflow under dag.test(), the emulator,
the real job): weather with its composite key and NA values, planes ';'-delimited Latin-1, each
into its own table, each audit record naming its dataset. The conf names only the object."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.dags.test_load_dag_runs import audit_records, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]

WEATHER = (
    "origin,year,month,day,hour,temp,dewp,humid,wind_dir,time_hour\n"
    "EWR,2013,1,1,1,39.02,26.06,59.37,270,2013-01-01T06:00:00Z\n"
    "EWR,2013,1,1,2,39.02,NA,61.63,250,2013-01-01T07:00:00Z\n"
    "JFK,2013,1,1,1,39.02,26.96,61.63,NA,2013-01-01T06:00:00Z\n"
)
PLANES = (
    "tailnum;year;type;manufacturer;seats\n"
    "N10156;2004;Fixed wing;EMBRAER;55\n"
    "N201AA;NA;Fixed wing;AÉROSPATIALE;2\n"
)


def test_each_dataset_dag_loads_its_files_its_way(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    upload(s3, stack, "raw/weather/2013-01-01.csv", WEATHER.encode())
    upload(s3, stack, "raw/planes/planes.csv", PLANES.encode("latin-1"))

    weather = dag_runner.run(
        stack, "test", "csv2ddb_load__weather", "--conf", json.dumps({"key": "raw/weather/2013-01-01.csv"})
    )
    assert weather.state == "success", weather.output[-6000:]
    (record,) = audit_records(ddb, stack, weather.result["dag_run_id"])
    assert (record["status"], record["dataset"], record["table"]) == (
        "verified",
        "weather",
        f"{stack.prefix}-weather",
    )
    assert (record["rows_read"], record["rows_written"]) == (3, 3)
    # Verified: the run announced its table to downstream DAGs (Airflow's Assets view lists it).
    # (Airflow stores the URI normalized, with a trailing "/".)
    assert [uri.rstrip("/") for uri in weather.result["asset_events"]] == [
        f"dynamodb://{stack.prefix}-weather"
    ]
    item = ddb.get_item(
        TableName=f"{stack.prefix}-weather",
        Key={"origin": {"S": "EWR"}, "time_hour": {"S": "2013-01-01T07:00:00Z"}},
    )["Item"]
    assert "dewp" not in item  # NA, omitted (the default for empty cells)
    assert item["temp"] == {"N": "39.02"}

    planes = dag_runner.run(
        stack, "test", "csv2ddb_load__planes", "--conf", json.dumps({"key": "raw/planes/planes.csv"})
    )
    assert planes.state == "success", planes.output[-6000:]
    (record,) = audit_records(ddb, stack, planes.result["dag_run_id"])
    assert (record["status"], record["dataset"]) == ("verified", "planes")
    assert record["csv_options"]["delimiter"] == ";"
    item = ddb.get_item(TableName=f"{stack.prefix}-planes", Key={"tailnum": {"S": "N201AA"}})["Item"]
    assert item["manufacturer"] == {"S": "AÉROSPATIALE"}
    assert "year" not in item
    assert ddb.get_item(TableName=f"{stack.prefix}-planes", Key={"tailnum": {"S": "N10156"}})["Item"][
        "year"
    ] == {"S": "2004"}

    # A key of another dataset is refused by this dataset's DAG before anything is read.
    wrong = dag_runner.run(
        stack, "test", "csv2ddb_load__planes", "--conf", json.dumps({"key": "raw/weather/2013-01-01.csv"})
    )
    assert wrong.state == "failed"
    assert "is outside raw/planes/" in wrong.output
    assert wrong.result["asset_events"] == []  # nothing verified, nothing announced
