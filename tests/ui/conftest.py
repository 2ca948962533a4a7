"""The real stack for the UI tests: emulator + a real Airflow (api-server with our plugin,
scheduler, dag-processor, triggerer) on free loopback ports, and Debian's chromium driven by
Playwright. One stack for the whole tests/ui package (Airflow takes ~30-50 s to start on 2 cores);
stopped by process group at the end, never by name.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.bootstrap import Sources, create_stack, delete_stack
from csv2ddb.settings import DAG_ID_LOAD, Settings, load_settings
from csv2ddb_dev.airflow_api import AirflowApi
from csv2ddb_dev.airflow_runner import AirflowProcesses, start_airflow
from csv2ddb_dev.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".cache" / "artifacts" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download cannot work here: Debian's chromium, headless, quiet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The stack's tolerance: the form's default for reject_tolerance (the test file has one bad row).
STACK_TOLERANCE = "1"
# Uploads must not start runs by themselves here: the runs under test come from the form.
NOOP_LAMBDA = "def handler(event, context):\n    return {'records': len(event.get('Records', []))}\n"


@dataclass
class UiStack:
    """Where the stack runs and how to reach it."""

    airflow: AirflowProcesses
    settings: Settings
    emulator: Emulator

    @property
    def url(self) -> str:
        return self.airflow.url

    def api(self) -> AirflowApi:
        return self.airflow.api()

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.emulator.endpoint_url,
            region_name=self.emulator.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.emulator.endpoint_url,
            region_name=self.emulator.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def get(self, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of a GET, redirects not followed."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def get_json(self, path: str, token: str) -> tuple[int, Any]:
        status, _, body = self.get(path, token)
        return status, json.loads(body) if body else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="package")
def ui_stack(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiStack]:
    prefix = f"ui{uuid.uuid4().hex[:8]}"
    env = emulator.client_env()
    tmp = tmp_path_factory.mktemp("ui")
    lambda_dir = tmp / "lambda"
    lambda_dir.mkdir()
    (lambda_dir / "trigger_dag.py").write_text(NOOP_LAMBDA)
    airflow = start_airflow(
        tmp / "airflow",
        aws_env=env,
        extra_env={"CSV2DDB_PREFIX": prefix, "CSV2DDB_REJECT_TOLERANCE": STACK_TOLERANCE},
    )
    settings = load_settings(env, prefix=prefix, airflow_api_url=airflow.url)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                mp.delenv(leak, raising=False)
            create_stack(settings, sources=Sources(lambda_dir=lambda_dir))
            try:
                airflow.api().wait_for_dag(DAG_ID_LOAD, timeout=180)
                yield UiStack(airflow=airflow, settings=settings, emulator=emulator)
            finally:
                delete_stack(settings)
    finally:
        airflow.stop()


@pytest.fixture(scope="package")
def token(ui_stack: UiStack) -> str:
    """A JWT of the local admin, as an API client (POST /auth/token) gets it."""
    return ui_stack.api().token()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright (``make setup`` installs it when missing)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `make setup` (it installs Debian's chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PATIENCE_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield PatientBrowser(instance)
        finally:
            instance.close()


# How long a page action or an assertion waits before it fails. Playwright's defaults (30 s for an
# action, 5 s for an assertion) are for a quiet machine; on 2 cores shared with an emulator, four
# Airflow components and Spark, an api-server page can take a minute to render. A test that fails
# because the machine was busy is a defect, so every wait here is long; a broken page still fails.
PATIENCE_MS = 120_000


class PatientBrowser:
    """The launched browser, whose new pages and contexts wait ``PATIENCE_MS``."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        page.set_default_timeout(PATIENCE_MS)
        return page

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        context.set_default_timeout(PATIENCE_MS)
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


def log_in(page: Any, stack: UiStack) -> None:
    """Sign in through Airflow's own login form, as a person does."""
    user, password = stack.airflow.credentials()
    page.goto(f"{stack.url}/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.url}/")
