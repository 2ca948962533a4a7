"""The local session hands the emulator's endpoint to its Python workers itself.

A worker otherwise inherits the JVM's environment, fixed by the first session of the process: in
one pytest run the analytics suite's session (its own emulator) came first, and every later Spark
load read from that emulator (NoSuchBucket).
"""

from __future__ import annotations

from typing import Any

from csv2ddb_dev.emulator import Emulator


def test_the_workers_get_this_sessions_endpoint(spark: Any, emulator: Emulator) -> None:
    environment = spark.sparkContext.environment
    assert environment["AWS_ENDPOINT_URL"] == emulator.endpoint_url
    assert environment["AWS_DEFAULT_REGION"] == emulator.region
