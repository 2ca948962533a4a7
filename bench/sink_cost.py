"""The null sink's own CPU per BatchWriteItem: what it takes from a client on the same machine.

A client on one keep-alive connection sends ``--requests`` bodies of 25 flights-like items
(compact JSON, as the job sends them; 19 columns + the job's 3 attributes) to a fresh sink
(``bench/sink.py`` from ``--tree``, default this one) and reads the sink's CPU seconds from /proc.

    .venv/bin/python -m bench.sink_cost [--requests 4000] [--tree PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from csv2ddb_dev.paths import REPO_ROOT, free_port

from bench.measure import process_cpu_seconds


def body(batch: int) -> bytes:
    """25 items shaped like the job's flights items (ids distinct across batches)."""
    items = []
    for i in range(25):
        item = {f"c{c:02d}": {"N": str(1000 + c * i)} for c in range(12)}
        item.update({f"s{c}": {"S": f"EWR-{c}-{i:04d}"} for c in range(7)})
        item["source_file"] = {"S": "s3://csv2ddb-bench/raw/bench/flights.csv"}
        item["run_id"] = {"S": "bench-000000000000"}
        item["ingestion_timestamp"] = {"S": "2026-01-01T00:00:00.000000Z"}
        item["id"] = {"S": f"{batch:08x}{i:024x}"}
        items.append({"PutRequest": {"Item": item}})
    return json.dumps({"RequestItems": {"t": items}}, separators=(",", ":")).encode()


def measure(tree: Path, requests: int) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        sink = subprocess.Popen(
            [sys.executable, "-m", "bench.sink", "--port", str(port)], cwd=tree, stdout=log, stderr=log
        )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(100):  # until it listens
                try:
                    conn.connect()
                    break
                except OSError:
                    time.sleep(0.1)
            headers = {"X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"}
            bodies = [body(b) for b in range(requests)]
            before = process_cpu_seconds(sink.pid)
            for payload in bodies:
                conn.request("POST", "/", payload, headers)
                conn.getresponse().read()
            cpu = process_cpu_seconds(sink.pid) - before
            conn.request("GET", "/_sink/stats")
            stats = json.loads(conn.getresponse().read())
        finally:
            sink.terminate()
            sink.wait()
    if stats["distinct_ids"] != 25 * requests:
        raise RuntimeError(f"the sink counted {stats}")
    return {
        "requests": requests,
        "bytes": len(bodies[0]),
        "sink_us_per_request": round(cpu / requests * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sink_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument(
        "--tree", type=Path, default=REPO_ROOT, help="the repository whose bench/sink.py runs"
    )
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.tree, args.requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
