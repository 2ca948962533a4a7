"""The Spark engine's helpers: the entry script as a module and a runner that does the same load
through both engines. The fixtures built on them (``spark_job``, the ONE local Spark session of
the pytest run, ``engines``) are in tests/conftest.py, shared by tests/spark, tests/checks and
tests/analytics.

The session is started with the emulator's endpoint already in the environment: Spark's Python
workers inherit the environment of the JVM, which is fixed when the session starts.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import JobArgs
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args
from csv2ddb_dev.scripts import load_script
from pyspark import cloudpickle

from tests.dags.conftest import dag_runner, stack  # noqa: F401  (fixtures, reused)
from tests.glue.digest import fetch_items, items_digest
from tests.spark import capture

# Spark's Python workers get the capturing tap by value: they need not import the test package.
cloudpickle.register_pickle_by_value(capture)
SPARK_JOB = Path(__file__).resolve().parents[2] / "glue" / "csv2ddb_spark_job.py"
LOCAL_CORES = "2"


def load_job_module() -> ModuleType:
    """The entry script as a module (it is a script, not a package: Glue runs it by path)."""
    return load_script(SPARK_JOB, "csv2ddb_spark_job", register=False)


def _binary(item: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """B values between the key list's base64 text and the bytes boto3 sends and returns."""
    return {name: ({"B": convert(value["B"])} if "B" in value else value) for name, value in item.items()}


def _numbers(key: dict[str, Any]) -> dict[str, Any]:
    return {n: ({"N": format(Decimal(v["N"]).normalize(), "f")} if "N" in v else v) for n, v in key.items()}


@dataclass
class Loaded:
    manifest: dict[str, Any]
    bucket: str
    table: str
    s3: Any
    ddb: Any

    @property
    def figures(self) -> tuple[int, ...]:
        names = ("rows_read", "rows_written", "rows_rejected", "rows_duplicate", "rows_skipped")
        return (*tuple(self.manifest[n] for n in names), self.manifest["rows_unconfirmed"])

    def digest(self) -> str:
        """The item-set digest of exactly the keys the load listed (tests/glue/digest.py)."""
        listed = read_key_list(self.s3, self.manifest, self.manifest["run_id"])
        # ministack finds an N key only under its normalized text (DynamoDB compares by value).
        keys = [_numbers(_binary(k, base64.b64decode)) for k in listed]
        items = fetch_items(self.ddb, self.table, keys)
        return items_digest([_binary(i, lambda b: base64.b64encode(b).decode()) for i in items], self.bucket)

    def rejects(self) -> list[str]:
        """rejects.csv's data lines, sorted (tasks write them in split order, not file order)."""
        location = self.manifest["rejected_location"]
        if not location:
            return []
        key = location.split("/", 3)[3]
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8")
        header, *lines = body.split("\r\n")
        assert header == "line_number,reason,detail,raw_row"
        return sorted(line for line in lines if line)


@dataclass
class Engines:
    """Runs one file through the Python shell and through Spark, each into its own bucket and table."""

    spark: Any
    job: ModuleType
    s3: Any
    ddb: Any
    created: list[str] = field(default_factory=list)
    job_clients: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, key: str, body: bytes, make_table: Callable[[Any, str], None] | None = None) -> str:
        bucket = f"spk-{uuid.uuid4().hex[:12]}"
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        table = f"{bucket}-items"
        (make_table or self.default_table)(self.ddb, table)
        self.created.append(table)
        return bucket

    def default_table(self, ddb: Any, table: str) -> None:
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def argv(self, bucket: str, key: str, run_id: str, **extra: str) -> list[str]:
        argv = [
            "--source_bucket",
            bucket,
            "--source_key",
            key,
            "--table",
            f"{bucket}-items",
            "--run_id",
            run_id,
        ]
        for name, value in extra.items():
            argv += [f"--{name}", value]
        return argv

    def clients(self, args: JobArgs) -> tuple[Any, Any]:
        """The job's own clients (csv2ddb_core.clients), made once per writer-thread count, as a
        job process makes them once: making them costs ~0.15 s of CPU, times ~100 loads here."""
        with self.lock:
            if args.write_concurrency not in self.job_clients:
                self.job_clients[args.write_concurrency] = make_clients(args)
            return self.job_clients[args.write_concurrency]

    def pythonshell(self, bucket: str, key: str, run_id: str, **extra: str) -> Loaded:
        args = parse_job_args(self.argv(bucket, key, run_id, **extra), env={})
        s3, ddb = self.clients(args)
        return Loaded(run(args, s3, ddb).to_dict(with_location=True), bucket, args.table, self.s3, self.ddb)

    def spark_load(
        self, bucket: str, key: str, run_id: str, fault: Any = None, tap: Any = None, **extra: str
    ) -> Loaded:
        argv = self.argv(bucket, key, run_id, **extra)
        args = parse_job_args(argv, env={})
        s3, ddb = self.clients(args)
        manifest = self.job.run_load(self.spark, args, self.job.spark_options(argv, {}), s3, ddb, fault, tap)
        return Loaded(manifest.to_dict(with_location=True), bucket, args.table, self.s3, self.ddb)

    def both(self, key: str, body: bytes, run_id: str, **extra: str) -> tuple[Loaded, Loaded]:
        """(Python shell, Spark) loads of ``body`` under the same key and run id."""
        shell = self.pythonshell(self.place(key, body), key, run_id, **extra)
        on_spark = self.spark_load(self.place(key, body), key, run_id, **extra)
        return shell, on_spark
