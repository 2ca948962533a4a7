"""A burst of uploads through the real event path, and what it became: the test's and the bench's
one way to make ``N`` small CSV files arrive at once and count the DAG runs they started.

``aws s3 cp --recursive`` uploads a folder with several threads; so does ``upload``. The runs are
read back through the REST API; their ``conf.objects`` say which files each run got.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from csv2ddb_dev.airflow_api import AirflowApi, AirflowUnreachable
from csv2ddb_dev.dataset_files import dag_id_of, deploy_datasets, event_dataset

T = TypeVar("T")
UPLOAD_THREADS = 16

# The dataset a burst's files belong to: the event path loads only files a dataset claims.
BURST_DATASET = "burst"
BURST_PREFIX = "raw/burst/"
BURST_DAG_ID = dag_id_of(BURST_DATASET)


def deploy_burst_dataset(folder: Path) -> dict[str, str]:
    """A datasets folder holding the burst dataset only, and the environment that deploys it."""
    return deploy_datasets(folder, {BURST_DATASET: event_dataset(BURST_DATASET, BURST_PREFIX)})


def small_csv(index: int, rows: int = 50) -> bytes:
    """A distinct ``rows``-row file (distinct content: distinct etag and item ids)."""
    lines = ["id,store,amount,note"]
    lines += [f"f{index:05d}-r{r:03d},{index % 97},{(index * 31 + r) % 1000}.25,row {r}" for r in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(s3: Any, bucket: str, files: Iterable[tuple[str, bytes]], threads: int = UPLOAD_THREADS) -> float:
    """PUT every (key, body) at once from ``threads`` threads; returns the seconds it took."""
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda kb: s3.put_object(Bucket=bucket, Key=kb[0], Body=kb[1]), files))
    return time.monotonic() - started


@dataclass(frozen=True)
class RunsSeen:
    """The DAG runs of one DAG and the objects each one carries."""

    runs: dict[str, dict[str, Any]]  # dag_run_id -> the run as the REST API lists it

    def objects(self) -> list[dict[str, Any]]:
        return [obj for run in self.runs.values() for obj in (run.get("conf") or {}).get("objects", [])]

    def key_counts(self) -> Counter[str]:
        return Counter(obj["key"] for obj in self.objects())

    def from_events(self) -> RunsSeen:
        """Only the runs the event path started (their conf names objects; a scheduled run has none)."""
        return RunsSeen({i: r for i, r in self.runs.items() if (r.get("conf") or {}).get("objects")})


def runs_seen(api: AirflowApi, dag_id: str) -> RunsSeen:
    return RunsSeen({run["dag_run_id"]: run for run in api.list_dag_runs(dag_id)})


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages still in the queue, visible or in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attrs[name]) for name in names)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, poll: float = 2.0) -> T:
    """``probe()`` until it returns something (not None); an AssertionError naming ``what`` after
    ``timeout`` seconds. A busy api-server that answers late is polled again, not failed."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = probe()
        except AirflowUnreachable as exc:
            last, found = exc, None
        if found is not None:
            return found
        time.sleep(poll)
    raise AssertionError(f"{what}: not after {timeout:.0f}s" + (f" (last error: {last})" if last else ""))


def all_keys_in_runs(api: AirflowApi, dag_id: str, keys: set[str]) -> Callable[[], RunsSeen | None]:
    """A probe for ``wait_for``: the runs, once every key in ``keys`` is in one of them."""

    def probe() -> RunsSeen | None:
        seen = runs_seen(api, dag_id)
        return seen if keys <= set(seen.key_counts()) else None

    return probe
