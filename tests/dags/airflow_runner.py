"""Run real Airflow in a child process for the DAG tests (``python airflow_runner.py CMD ...``).

A child process because Airflow reads its configuration (AIRFLOW_HOME, dags folder, database)
once at import; the tests give each session its own home without touching the pytest process.
The last stdout line is a JSON result the test parses.

Commands:
  dagbag                      import every DAG file; report import errors, AWS calls, Variable reads
  test DAG_ID [--conf JSON] [--logical-date ISO] [--fail-once KEY]   dag.test() one run; report run and
                              task states and tries (--fail-once: the first read of KEY fails)
  serve                       a fork server (below): the tests' way to run the two commands above

Importing Airflow, the Amazon provider and building dag.test()'s in-process Execution API costs
~10-25 s of CPU per process, more than many a DAG run itself. ``serve`` pays it once per test
session: it imports them (never csv2ddb, the DAG files or a database connection), then forks one
child per request. Each child starts from that clean, imported state with the request's own
environment and argv, runs one command exactly as a fresh process would, and exits; nothing one
run does (patches, env, module state, the DagBag) reaches the next.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path


def _dagbag() -> dict:
    """Import the DAG files with botocore API calls and Variable.get trapped (recorded, refused)."""
    calls: list[str] = []
    import botocore.client

    def trapped_api_call(self, operation_name, api_params):
        calls.append(f"aws:{self.meta.service_model.service_name}.{operation_name}")
        raise RuntimeError(f"AWS call {operation_name} at DAG import time")

    botocore.client.BaseClient._make_api_call = trapped_api_call
    from airflow.sdk import Variable

    def trapped_variable(*args, **kwargs):
        calls.append(f"variable:{args[0] if args else kwargs}")
        raise RuntimeError("Variable read at DAG import time")

    Variable.get = staticmethod(trapped_variable)
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "tags": sorted(dag.tags),
            "schedule": str(getattr(dag, "schedule", None)),
            "catchup": dag.catchup,
            "description": dag.description,
            "params": sorted(dag.params.keys()),
            "tasks": {
                t.task_id: {"retries": t.retries, "owner": t.owner, "callback": bool(t.on_failure_callback)}
                for t in dag.tasks
            },
        }
    return {"import_errors": {str(k): v for k, v in bag.import_errors.items()}, "calls": calls, "dags": dags}


def _as_scheduled_run() -> None:
    """Make dag.test() create a SCHEDULED run instead of its fixed MANUAL one.

    Only the scheduler creates scheduled runs and dag.test() hard-codes MANUAL; this swaps the
    helper dag.test() calls for one that differs only in run type, run id and triggered_by,
    so the DAG's scheduled path (sensor + partition) runs for real.
    """
    import airflow.models.dagrun as dagrun_module
    from airflow.models.dagrun import DagRun
    from airflow.timetables.base import DataInterval
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import select

    def get_or_create_scheduled(
        *, dag, logical_date, data_interval, run_after, conf, start_date, session, **_
    ):
        existing = session.scalar(
            select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.logical_date == logical_date)
        )
        if existing:
            session.delete(existing)
            session.commit()
        # Like the scheduler for the @daily data-interval timetable: the run for day D covers
        # [D, D+1) and becomes due when that interval ends. (dag.test() would infer the interval
        # that *ends* at D, the one a manual trigger at D would get.)
        data_interval = DataInterval(logical_date, logical_date + timedelta(days=1))
        run_after = data_interval.end
        return dag.create_dagrun(
            run_id=DagRun.generate_run_id(
                run_type=DagRunType.SCHEDULED, logical_date=logical_date, run_after=run_after
            ),
            logical_date=logical_date,
            data_interval=data_interval,
            run_after=run_after,
            conf=conf,
            run_type=DagRunType.SCHEDULED,
            state=DagRunState.RUNNING,
            triggered_by=DagRunTriggeredByType.TIMETABLE,
            triggering_user_name=None,
            start_date=start_date or logical_date,
            session=session,
        )

    dagrun_module.get_or_create_dagrun = get_or_create_scheduled


def _fail_first_read(key: str) -> None:
    """A network blip for a real Airflow retry: the first ``GetObject`` of ``key`` in this process
    fails as a lost connection does (botocore's ``EndpointConnectionError``); every other call, and
    every later one of that key, is real. dag.test() runs the tasks in this process, so the load task
    whose core reads ``key`` fails part-way through its group, and its retry reads the object."""
    import botocore.client
    import botocore.exceptions

    real = botocore.client.BaseClient._make_api_call
    failed: list[str] = []

    def blip(self, operation_name, api_params):
        if operation_name == "GetObject" and api_params.get("Key") == key and not failed:
            failed.append(key)
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=self.meta.endpoint_url)
        return real(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = blip


def _test(
    dag_id: str, conf: dict | None, logical_date: str | None, scheduled: bool, fail_once: str | None = None
) -> dict:
    from airflow.configuration import conf as airflow_conf
    from airflow.dag_processing.dagbag import DagBag

    if scheduled:
        _as_scheduled_run()
    if fail_once:
        _fail_first_read(fail_once)
    bag = DagBag(dag_folder=airflow_conf.get("core", "dags_folder"))
    if bag.import_errors:
        return {"error": "import errors", "import_errors": {str(k): v for k, v in bag.import_errors.items()}}
    dag = bag.get_dag(dag_id)
    kwargs: dict = {"run_conf": conf}
    if logical_date:
        kwargs["logical_date"] = datetime.fromisoformat(logical_date)
    dag_run = dag.test(**kwargs)
    tasks, tries = {}, {}
    for ti in dag_run.get_task_instances():
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[name] = str(ti.state)
        tries[name] = ti.try_number
    return {
        "dag_run_id": dag_run.run_id,
        "run_type": str(dag_run.run_type),
        "state": str(dag_run.state),
        "tasks": tasks,
        "tries": tries,
        "asset_events": _asset_events(dag_id, dag_run.run_id),
    }


def _asset_events(dag_id: str, run_id: str) -> list:
    """The URIs of the asset events the run emitted, as Airflow recorded them (its Assets view)."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(
            AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id
        )
        return sorted(event.asset.uri for event in events)


def _warm() -> None:
    """Import what every command needs and build the in-process Execution API app (no DB access)."""
    import contextlib
    import importlib

    for name in (
        "airflow.models",
        "airflow.models.dagrun",
        "airflow.dag_processing.dagbag",
        "airflow.sdk",
        "airflow.sdk.execution_time.task_runner",
        "airflow.sdk.execution_time.supervisor",
        "airflow.api_fastapi.execution_api.app",
        "airflow.providers.amazon.aws.operators.glue",
        "airflow.providers.amazon.aws.operators.s3",
        "airflow.providers.amazon.aws.operators.sns",
        "airflow.providers.amazon.aws.sensors.s3",
        "airflow.providers.amazon.aws.triggers.s3",
        "airflow.providers.amazon.aws.hooks.dynamodb",
        "airflow.providers.amazon.aws.transfers.s3_to_dynamodb",
        "boto3",
    ):
        with contextlib.suppress(ImportError):  # a warm-up only: the command imports what it needs
            importlib.import_module(name)
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    # Cached per process; its transport (a thread) is made in each child. The app is a Cadwyn app
    # that builds its versioned routes and models on its first request: ~10-40 s of CPU, paid here.
    app = in_process_api_server().app
    if not getattr(app, "_cadwyn_initialized", True):
        app._cadwyn_initialize()


def _serve() -> int:
    """Fork one child per JSON request line on stdin; answer {"pid"} then {"rc"} on stdout.

    Request: {"args": [...], "env": {...}, "stdout": PATH, "stderr": PATH}. The server exits
    when stdin closes (the pytest process ended).
    """
    import os

    _warm()
    reply = sys.stdout
    print(json.dumps({"ready": True}), file=reply, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: becomes `python airflow_runner.py ARGS` with the request's env
            rc = 1
            try:
                os.environ.clear()
                os.environ.update(request["env"])
                from airflow import settings

                settings.configure_vars()  # e.g. a test's own dags folder, read at import otherwise
                for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
                    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(target, fd)
                    os.close(target)
                sys.stdin = open(os.devnull)  # noqa: SIM115 (the child's whole life)
                sys.argv = [__file__, *request["args"]]
                rc = main()
            except SystemExit as done:
                rc = done.code if isinstance(done.code, int) else 1
            except BaseException:  # noqa: BLE001 - reported like an uncaught error, then exit 1
                import traceback

                traceback.print_exc()
            finally:
                import logging

                logging.shutdown()  # what a normal interpreter exit would flush
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(rc)
        print(json.dumps({"pid": pid}), file=reply, flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"rc": os.waitstatus_to_exitcode(status)}), file=reply, flush=True)
    return 0


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        return _serve()
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("dagbag")
    test = sub.add_parser("test")
    test.add_argument("dag_id")
    test.add_argument("--conf", default=None)
    test.add_argument("--logical-date", default=None)
    test.add_argument("--scheduled", action="store_true", help="create a SCHEDULED run, not a manual one")
    test.add_argument("--fail-once", default=None, help="an S3 key whose first GetObject fails (a blip)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.cmd == "dagbag":
        result = _dagbag()
    else:
        result = _test(
            args.dag_id,
            json.loads(args.conf) if args.conf else None,
            args.logical_date,
            args.scheduled,
            args.fail_once,
        )
    print("\n" + json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
