"""The Loads page's FastAPI app, mounted by Airflow's api-server under ``URL_PREFIX``.

Routes (all behind Airflow's login and the permission to read csv2ddb_load's runs, see
``access.py``):

- ``GET /loads``: the page (HTML; without a session: a redirect to Airflow's login);
- ``GET /api/loads``: one page of loads, newest first (``from``, ``to``, ``status``, ``table``,
  ``dataset``, ``file``, ``limit``, ``cursor``);
- ``GET /api/loads.csv``: every load matching the same filters, as CSV;
- ``GET /api/summary``: rows written per day and status, for the chart;
- ``GET /api/datasets``: the per-dataset overview (last load, status, freshness, rows per day)
  and the unrouted files;
- ``GET /api/object?key=``: a manifest or rejects file of the stack bucket;
- ``GET /static/<name>``: the page's script and style sheet.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from botocore.exceptions import ClientError
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from csv2ddb.history import audit
from csv2ddb.history.audit import RecordFilter
from csv2ddb.settings import Settings, load_settings
from csv2ddb.ui import access, charts, filters, objects, overview, table_rows
from csv2ddb.ui.aws_clients import client
from csv2ddb.ui.urls import PAGE_PATH, URL_PREFIX

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = {"loads.js": "text/javascript", "loads.css": "text/css"}
MAX_EXPORT_ROWS = 100_000
# The page is framed by Airflow's own UI (same origin) and loads nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Reader = Depends(access.read_loads)
Filter = Annotated[RecordFilter, Depends(filters.filter_params)]
# csv2ddb_load and the dataset DAGs (csv2ddb_load__<name>) this user may read: whose loads are listed.
LoadDags = Annotated[frozenset[str], Depends(access.readable_load_dags)]

app = FastAPI(title="csv2ddb loads", docs_url=None, redoc_url=None, openapi_url=None)


def _bases(request: Request) -> tuple[str, str]:
    """(Airflow UI base path, this app's base path), e.g. ("", "/csv2ddb") — also behind a proxy
    path, since both come from the mount's root_path."""
    app_base = str(request.scope.get("root_path", "")).rstrip("/")
    return app_base.removesuffix(URL_PREFIX), app_base


def _audit_error(exc: ClientError, settings: Settings) -> HTTPException:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", str(exc))
    if code == "ValidationException" and "starting key" in message:
        return filters.bad_request("the cursor does not belong to these filters; start from the first page")
    if code == "ResourceNotFoundException" or (code == "ValidationException" and "index" in message.lower()):
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"audit table {settings.audit_table} or its indexes are missing ({message}); "
            "run `infra_bootstrap.py create` (or the csv2ddb_bootstrap DAG) to add them",
        )
    return HTTPException(status.HTTP_502_BAD_GATEWAY, f"reading the audit table failed: {code} {message}")


@app.get(f"/{PAGE_PATH}", response_class=HTMLResponse, include_in_schema=False)
async def loads_page(request: Request) -> Response:
    redirect = await access.page_access(request)
    if redirect is not None:
        return redirect
    return HTMLResponse((STATIC_DIR / "loads.html").read_text(), headers=PAGE_HEADERS)


@app.get("/static/{name}", dependencies=[Reader], include_in_schema=False)
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@app.get("/api/loads", dependencies=[Reader])
def list_loads(
    request: Request,
    flt: Filter,
    dag_ids: LoadDags,
    limit: filters.PageSize = filters.DEFAULT_PAGE_SIZE,
    cursor: filters.CursorParam = None,
) -> dict[str, Any]:
    """One page of loads by Query on one of the audit table's indexes (never a Scan): newest first,
    or by file when a file prefix is given; loads of every load DAG the user may read, merged."""
    settings = load_settings()
    cursors = filters.decode_cursor(cursor, flt, dag_ids)
    started = time.perf_counter()
    try:
        page = audit.query_merged_page(
            client("dynamodb", settings),
            settings.audit_table,
            flt,
            dag_ids=sorted(dag_ids),
            limit=limit,
            cursors=cursors,
        )
    except ClientError as exc:
        raise _audit_error(exc, settings) from exc
    ui_base, app_base = _bases(request)
    return {
        "rows": [table_rows.present(r, settings, ui_base, app_base) for r in page.records],
        "next_cursor": filters.encode_cursor(page.cursors),
        "filters": {
            "from": flt.date_from.isoformat(),
            "to": flt.date_to.isoformat(),
            "status": flt.status,
            "table": flt.table,
            "dataset": flt.dataset,
            "file": flt.source_prefix,
        },
        "order": "newest first" if flt.newest_first else "by file",
        "query": {
            "index": flt.index.name,
            "partitions": len(audit.partitions_of(flt, sorted(dag_ids))),
            "items_read": page.items_read,
            "seconds": round(time.perf_counter() - started, 4),
        },
    }


@app.get("/api/loads.csv", dependencies=[Reader])
def export_csv(flt: Filter, dag_ids: LoadDags) -> StreamingResponse:
    """Every load matching the filters (at most MAX_EXPORT_ROWS), as CSV, newest first."""
    settings = load_settings()
    records = audit.query_merged_records(
        client("dynamodb", settings), settings.audit_table, flt, dag_ids=sorted(dag_ids)
    )
    try:  # fail before the 200 goes out when the table or index is missing
        first = next(records, None)
    except ClientError as exc:
        raise _audit_error(exc, settings) from exc
    head = [] if first is None else [first]
    lines = table_rows.csv_lines(itertools.islice(itertools.chain(head, records), MAX_EXPORT_ROWS))
    name = f"csv2ddb-loads_{flt.date_from}_{flt.date_to}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@app.get("/api/summary", dependencies=[Reader])
def summary(flt: Filter, dag_ids: LoadDags) -> dict[str, Any]:
    """Rows written per UTC day and status over the whole filtered range (the per-day chart)."""
    settings = load_settings()
    started = time.perf_counter()
    try:
        records = audit.query_merged_records(
            client("dynamodb", settings),
            settings.audit_table,
            flt,
            dag_ids=sorted(dag_ids),
            projection=charts.PROJECTION,
        )
        totals = charts.daily_totals(records)
    except ClientError as exc:
        raise _audit_error(exc, settings) from exc
    return {**totals, "seconds": round(time.perf_counter() - started, 4)}


@app.get("/api/datasets", dependencies=[Reader])
def datasets(request: Request, flt: Filter, dag_ids: LoadDags) -> dict[str, Any]:
    """The per-dataset overview over the filters' date range (the other filters do not apply: it
    is about every dataset), plus the unrouted files of that range."""
    settings = load_settings()
    ui_base, app_base = _bases(request)
    started = time.perf_counter()
    try:
        found = overview.overview(
            client("dynamodb", settings),
            settings,
            date_from=flt.date_from,
            date_to=flt.date_to,
            now=datetime.now(UTC),
            readable=dag_ids,
            run_link=lambda r: table_rows.links(r, settings, ui_base, app_base)["run"],
        )
    except ClientError as exc:
        raise _audit_error(exc, settings) from exc
    return {**found, "seconds": round(time.perf_counter() - started, 4)}


@app.get("/api/object", dependencies=[Reader])
def get_object(key: Annotated[str, Query(max_length=objects.MAX_KEY_LENGTH)]) -> StreamingResponse:
    """A manifest or rejects file, as a download; nothing outside manifests/ and rejected/."""
    settings = load_settings()
    try:
        obj = objects.served_object(key, settings)
    except objects.ObjectRefused as exc:
        raise filters.bad_request(str(exc)) from exc
    try:
        size, chunks = objects.stream(client("s3", settings), obj)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"s3://{obj.bucket}/{obj.key} does not exist"
            ) from exc
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"reading s3://{obj.bucket}/{obj.key} failed"
        ) from exc
    headers = {"Content-Disposition": f'attachment; filename="{obj.filename}"', "Cache-Control": "no-store"}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(chunks, media_type=obj.media_type, headers=headers)
