"""The bundle's dashboard as a person sees it, in the project's headless Chromium (tests/browser.py) driven by
Playwright; for tests/test_superset.py and the screenshot in docs/. The login goes through Superset's login form
(posted with requests: the form's page is the whole React app, seconds to load), the browser gets its session cookie.

Superset's pages forbid `eval` (Content-Security-Policy), so the waits poll element counts from Python instead of
running JavaScript in the page. Superset's frontend requests a usage pixel from scarf.sh on every page (built into
the 6.1.0 frontend's menu; no setting stops it); offline that request fails with a console error, the one console
error `Rendered.console_errors` leaves out.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests

from tests.browser import CHROMIUM, CHROMIUM_ARGS

DASHBOARD_SLUG = "benchmarks"  # bi/superset/bundle/dashboards/benchmarks.yaml
CHART = ".dashboard-chart"
LOADING = f'{CHART} [data-test="loading-indicator"], {CHART} .loading'
ERROR_BOXES = f'{CHART} [data-test="error-message"], {CHART} .ant-alert-error, {CHART} [role="alert"]'
DRAWN = f"{CHART} table, {CHART} canvas, {CHART} [data-test='empty-state']"
TELEMETRY_HOSTS = ("scarf.sh",)
RENDER_TIMEOUT = 90  # seconds for every chart to finish loading


@dataclass(frozen=True)
class Rendered:
    charts: int  # chart boxes on the dashboard
    drawn: int  # tables, canvases (ECharts) and "no results" states drawn in them
    error_boxes: int
    console_errors: list[str]  # apart from the telemetry pixel's
    telemetry_requests: int


def render_dashboard(url: str, user: str, password: str, expected_charts: int, screenshot: Path) -> Rendered:
    """Logs in, opens the dashboard, waits until `expected_charts` charts have loaded."""
    from playwright.sync_api import sync_playwright

    cookies = [{"name": name, "value": value, "url": url} for name, value in _login(url, user, password).items()]
    errors: list[str] = []
    telemetry: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1300})
        context.add_cookies(cookies)
        page = context.new_page()
        page.on("request", lambda request: telemetry.append(request.url) if _telemetry(request.url) else None)
        page.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url')})")
                if message.type == "error" and not _telemetry(message.location.get("url", "")) else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/superset/dashboard/{DASHBOARD_SLUG}/?standalone=1")
        _wait_until(lambda: page.locator(CHART).count() >= expected_charts and not page.locator(LOADING).count())
        page.wait_for_timeout(1000)  # ECharts animates its first drawing
        page.screenshot(path=str(screenshot), full_page=True)
        rendered = Rendered(page.locator(CHART).count(), page.locator(DRAWN).count(),
                            page.locator(ERROR_BOXES).count(), errors, len(telemetry))
        browser.close()
    return rendered


def _login(url: str, user: str, password: str) -> dict[str, str]:
    """The cookies of a session logged in through /login/ (its form, with the CSRF token the page carries)."""
    session = requests.Session()
    page = session.get(f"{url}/login/", timeout=60).text
    token = re.search(r'name="csrf_token"\s+id="csrf_token"\s+value="([^"]+)"', page)
    assert token, "no csrf_token in Superset's login page"
    response = session.post(f"{url}/login/", data={"username": user, "password": password,
                                                   "csrf_token": token.group(1)}, allow_redirects=False, timeout=60)
    assert response.status_code == 302 and "session" in session.cookies, f"login refused: {response.status_code}"
    return session.cookies.get_dict()


def chromium_available() -> bool:
    return CHROMIUM is not None


def _telemetry(address: str) -> bool:
    host = urlparse(address).hostname or ""
    return any(host == name or host.endswith(f".{name}") for name in TELEMETRY_HOSTS)


def _wait_until(condition) -> None:
    deadline = time.monotonic() + RENDER_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dashboard's charts did not finish loading in {RENDER_TIMEOUT} s")
        time.sleep(0.2)
