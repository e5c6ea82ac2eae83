"""The report: terminal output matches the views, and the HTML renders in a real headless Chromium, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.commands import run_cli
from tests.snapshots import rows
from tests.warehouses import Warehouses


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, prebuilt) -> Path:
    """The small world loaded once (tests/prebuilt.py; the tests only read it)."""
    return prebuilt.world(Warehouses("duckdb", tmp_path_factory.mktemp("report")), (0,), "small").warehouse.db


def test_terminal_report_lists_models_in_leaderboard_order(loaded):
    result = run_cli("report", "--db", str(loaded), cwd=loaded.parent)
    assert result.returncode == 0, result.stderr
    overall = [r for r in rows(loaded, "leaderboard") if r["benchmark_type_id"] is None]
    ordered = [r["model_name"] for r in sorted(overall, key=lambda r: r["rank"])]
    section = result.stdout.split("Leaderboard — All types")[1].split("Leaderboard —")[0]
    positions = [section.index(name) for name in ordered]
    assert positions == sorted(positions)
    for heading in ("Worst categories", "Regressions (", "Freshness: last load finished"):
        assert heading in result.stdout


def test_report_for_one_type_and_unknown_type(loaded):
    result = run_cli("report", "--db", str(loaded), "--type", "2", cwd=loaded.parent)
    assert result.returncode == 0 and "Leaderboard — Safety (type 2)" in result.stdout
    assert "Leaderboard — Security" not in result.stdout
    missing = run_cli("report", "--db", str(loaded), "--type", "99", cwd=loaded.parent)
    assert missing.returncode == 2 and "--type 99" in missing.stderr


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium not installed (CI installs it)")
def test_html_report_renders_offline_in_chromium(loaded, tmp_path):
    from playwright.sync_api import sync_playwright

    html_file = tmp_path / "report.html"
    result = run_cli("report", "--db", str(loaded), "--html", str(html_file), cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    requests, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(html_file.as_uri())
        page.wait_for_selector(".heatmap .main-svg")
        leaderboards = page.locator(".leaderboard .js-plotly-plot").count()
        overall_bars = page.locator(".leaderboard >> nth=0").locator("g.point").count()
        heatmap_layers = page.locator(".heatmap .hm, .heatmap image").count()
        trend_lines = page.locator(".trend .scatterlayer .trace").count()
        regression_rows = page.locator("#regressions + table tbody tr").count()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()

    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    boards = {r["benchmark_type_id"] for r in rows(loaded, "leaderboard")}
    assert leaderboards == len(boards)
    rated = [r for r in rows(loaded, "leaderboard") if r["benchmark_type_id"] is None and r["pass_rate"]]
    assert overall_bars == len(rated)
    assert heatmap_layers >= 1
    rated_models = {r["model_id"] for r in rows(loaded, "pass_rate_trend") if r["pass_rate"] is not None}
    assert trend_lines == len(rated_models)
    assert regression_rows == len(rows(loaded, "regressions"))
    assert Path(tmp_path / "report.png").stat().st_size > 50_000
