"""Text is data: names, categories, strategies and error bodies from the API are shown literally everywhere we print
or render them (terminal tables, CSV, JSON, error lines, `status`, the HTML report in a real Chromium), never
obeyed as rich markup, terminal control codes, HTML or spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json
import os
import re

import pytest

from pipelines.safe_text import terminal_text
from simulator.crafted_api import API, CASES, RUNS, CraftedApi, small_world
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.commands import assert_one_line_error, run_cli
from tests.loads import load

ESC, BEL, CSI = "\x1b", "\x07", "\x9b"
MODEL = 'model [beta] [bold red]x[/] \x1b[31mred\x1b[0m <a href="https://evil.example/">click</a> :smile:'
PROVIDER = "OpenAI [/bold]"
TYPE = '<span style="color:#ff00ff">Security</span> \x1b]0;title\x07'
PROBE = '<img src=x onerror="window.__pwned=1;alert(1)"> \x1b]8;;https://evil.example/\x07link\x1b]8;;\x07'
CATEGORY = "<script>window.__pwned=2</script> \x9b2J<b>bold</b><br>next\rOverwritten \u202etxt.exe"
STRATEGY = '=HYPERLINK("https://evil.example/","x")'
HOSTILE = {"model": MODEL, "provider": PROVIDER, "type": TYPE, "probe": PROBE, "category": CATEGORY}
# Raw control characters that must never reach a terminal (tab and line feed may, in a multi-line cell)
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
ERROR_BODY = "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \x1b[2K\rHealth: OK [bold]"
# what the HTTP layer quotes of it: whitespace (the CR included) folded to single spaces, at most 120 characters
QUOTED_ERROR = " ".join(ERROR_BODY.split())


def hostile_world() -> dict:
    """small_world() with markup, escapes and HTML in every name, and a second, worse run of the probe (so the
    probe shows in the regressions too)."""
    world = small_world()
    model = {**world[f"{API}/models"][0], "name": MODEL, "provider": PROVIDER}
    details = {**world[f"{API}/models/1"], "name": MODEL, "provider": PROVIDER}
    first = {**world[RUNS][0], "probeName": PROBE, "probeCategoryName": CATEGORY}
    second = {**first, "id": 11, "createdAt": "2025-03-02T10:00:00.000Z", "score": 0.0, "passedCount": 0,
              "failedCount": 3}
    cases = [{**case, "strategy": STRATEGY, "attack": f"-{index} {case['attack']}", "variation": "@SUM(A1)"}
             for index, case in enumerate(world[CASES]["testCases"])]
    worse = [{**case, "id": case["id"] + 10, "result": "FAILED"} for case in cases]
    return small_world(**{
        f"{API}/types": [{"id": 1, "name": TYPE, "description": None}],
        f"{API}/models": [model], f"{API}/models?benchmarkTypeId=1": [model],
        f"{API}/models/1": details, f"{API}/models/1?benchmarkTypeId=1": details,
        RUNS: [first, second],
        CASES: {**first, "testCases": cases},
        f"{API}/models/1/runs/11/test-cases": {**second, "testCases": worse},
    })


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "w.duckdb"
    with CraftedApi(hostile_world()) as api:
        load(db, api.url, source_options={"api_key": "demo-key"})
    return db


def cli(*args, db, cwd, **kwargs):
    return run_cli(*args, "--db", str(db), cwd=cwd, env={"COLUMNS": "1000"}, **kwargs)


def assert_literal(output: str, *values: str) -> None:
    """Each value is in the output as its visible form, and no raw control character is."""
    for value in values:
        assert terminal_text(value) in output, value
    assert not RAW_CONTROLS.search(output), repr(RAW_CONTROLS.search(output).group(0))


def test_report_prints_every_name_literally(hostile, tmp_path):
    result = cli("report", db=hostile, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_literal(result.stdout, *HOSTILE.values())
    assert "Regressions (1)" in result.stdout


@pytest.mark.parametrize("query", [
    "select name, provider from analytics.models",
    "select probe_name, probe_category_name from analytics.probe_runs",
    "select name from analytics.benchmark_types",
], ids=["models", "probe_runs", "benchmark_types"])
def test_query_table_prints_every_name_literally(hostile, tmp_path, query):
    result = cli("query", query, db=hostile, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = {"models": (MODEL, PROVIDER), "probe_runs": (PROBE, CATEGORY), "benchmark_types": (TYPE,)}
    assert_literal(result.stdout, *expected[query.split(".")[1]])


def test_query_json_keeps_the_values_exactly_and_no_raw_control_reaches_the_terminal(hostile, tmp_path):
    result = cli("query", "select name, provider from analytics.models", "--format", "json", db=hostile, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"name": MODEL, "provider": PROVIDER}]
    assert not RAW_CONTROLS.search(result.stdout)


def test_query_csv_into_a_pipe_keeps_the_text_exactly(hostile, tmp_path):
    """Not a terminal: the bytes as stored (click would strip ESC [ ... sequences from echoed text; it must not)."""
    sql = ("select m.name as model_name, probe_name, probe_category_name from analytics.probe_runs join "
           "analytics.models m using (model_id) order by probe_run_id")
    result = cli("query", sql, "--format", "csv", db=hostile, cwd=tmp_path, text=False)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout.decode(), newline="")))
    assert rows == [["model_name", "probe_name", "probe_category_name"], [MODEL, PROBE, CATEGORY], [MODEL, PROBE,
                                                                                                    CATEGORY]]


def test_an_api_error_body_is_one_literal_line_in_the_error_and_in_status(hostile, tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(hostile.read_bytes())
    failing = {f"{API}/types": (401, {"error": {"message": ERROR_BODY, "code": "NO\x1b[5mKEY"}}, None)}
    with CraftedApi(hostile_world() | failing) as api:
        load = cli("load", "--base-url", api.url, db=db, cwd=tmp_path)
    assert_one_line_error(load, 3)
    assert_literal(load.stderr.strip().splitlines()[-1], QUOTED_ERROR, "NO\x1b[5mKEY")
    status = cli("status", db=db, cwd=tmp_path)
    assert status.returncode == 1
    assert_literal(status.stdout, QUOTED_ERROR)
    assert "Health: PROBLEM" in status.stdout and "\nHealth: OK" not in status.stdout
    record = next(db.parent.glob(".w.duckdb.dlt/last_attempt.json")).read_text(encoding="utf-8")
    assert terminal_text(QUOTED_ERROR) in json.loads(record)["error"]


def test_an_error_naming_a_value_shows_it_literally(hostile, tmp_path):
    """DuckDB's message quotes the value it could not convert: the model's name, escapes and all."""
    result = cli("query", "select cast(name as integer) from analytics.models", db=hostile, cwd=tmp_path)
    assert_one_line_error(result, 6, "Query failed")
    assert_literal(result.stderr, "[bold red]x[/]", "\x1b[31mred\x1b[0m")


# CSV formulas (OWASP): text cells starting with = + - @ tab or CR get a leading single quote, unless kept


def read_csv_file(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize("mode", ["escape", "keep"])
def test_export_csv_escapes_formulas_in_text_and_leaves_numbers(hostile, tmp_path, mode):
    out = tmp_path / "out"
    args = () if mode == "escape" else ("--csv-formulas", "keep")
    result = cli("export", "--out", str(out), "--format", "csv", *args, db=hostile, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    prefix = "'" if mode == "escape" else ""
    cases = read_csv_file(out / "test_cases.csv")
    assert {case["strategy"] for case in cases} == {prefix + STRATEGY}
    assert {case["variation"] for case in cases} == {prefix + "@SUM(A1)"}
    assert all(case["attack"].startswith(prefix + "-") for case in cases)
    regression, = read_csv_file(out / "regressions.csv")
    assert float(regression["delta"]) < 0 and regression["delta"].startswith("-")  # a number: never prefixed
    assert int(regression["latest_run_id"]) == 11


@pytest.mark.parametrize("mode", ["escape", "keep"])
def test_query_csv_escapes_formulas_in_text_and_leaves_numbers(hostile, tmp_path, mode):
    sql = ("select strategy, variation, -1 as negative, -2.5 as fraction, '\tx' as tab, '\rx' as cr, '+1' as plus, "
           "'a=b' as inside from analytics.test_cases limit 1")
    args = () if mode == "escape" else ("--csv-formulas", "keep")
    result = cli("query", sql, "--format", "csv", *args, db=hostile, cwd=tmp_path, text=False)
    assert result.returncode == 0, result.stderr
    (row,) = list(csv.DictReader(io.StringIO(result.stdout.decode(), newline="")))
    prefix = "'" if mode == "escape" else ""
    assert row == {"strategy": prefix + STRATEGY, "variation": prefix + "@SUM(A1)", "negative": "-1",
                   "fraction": "-2.5", "tab": prefix + "\tx", "cr": prefix + "\rx", "plus": prefix + "+1",
                   "inside": "a=b"}


# The HTML report, in a real headless Chromium


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium not installed (CI installs it)")
def test_html_report_shows_names_as_text_in_chromium(hostile, tmp_path):
    from playwright.sync_api import sync_playwright

    html_file = tmp_path / "report.html"
    result = cli("report", "--html", str(html_file), db=hostile, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dialogs, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(html_file.as_uri())
        page.wait_for_selector(".heatmap .main-svg")
        page.evaluate("Plotly.Fx.hover(document.querySelector('.leaderboard .js-plotly-plot'), [{curveNumber: 0, "
                      "pointNumber: 0}])")  # by plotly's API: the bar may be 0 wide
        hover = [page.locator(".leaderboard .hoverlayer").first.text_content()]
        page.locator(".heatmap .nsewdrag").hover()  # one model, one category: a single cell fills the plot
        page.wait_for_selector(".heatmap .hoverlayer .hovertext")
        hover.append(page.locator(".heatmap .hoverlayer").text_content())
        found = page.evaluate("""() => ({
            pwned: window.__pwned === undefined ? null : window.__pwned,
            links: [...document.querySelectorAll('a')].filter(a => (a.getAttribute('href') || '').includes('evil')
                   || a.closest('svg')).length,
            styled: [...document.querySelectorAll('[style]')].filter(e => /ff00ff|255, 0, 255/i.test(
                    e.getAttribute('style'))).length,
            images: document.querySelectorAll('img').length,
            bold: [...document.querySelectorAll('svg b, svg tspan[style*="bold"]')].length,
            charts: [...document.querySelectorAll('.js-plotly-plot')].map(chart => chart.textContent).join(' | '),
            tables: document.querySelector('#regressions + table').textContent,
        })""")
        browser.close()
    assert found["pwned"] is None and dialogs == [] and errors == []
    assert found["links"] == 0 and found["styled"] == 0 and found["images"] == 0 and found["bold"] == 0
    shown = {name: terminal_text(value) for name, value in HOSTILE.items()}
    for name in ("model", "provider", "type", "category"):
        assert shown[name] in found["charts"], name
    assert shown["model"] in hover[0] and shown["provider"] in hover[0]
    assert shown["model"] in hover[1] and shown["category"] in hover[1]
    assert shown["model"] in found["tables"] and shown["probe"] in found["tables"]


def run_on_a_terminal(*args: str, cwd) -> str:
    """The CLI with its stdout on a pseudo-terminal, as a user at a shell runs it; what the terminal received."""
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    environment = {**os.environ, "COLUMNS": "1000", "SOURCES__BENCHMARKS__API_KEY": "demo-key"}
    process = subprocess.Popen([sys.executable, "-m", "pipelines", *args], cwd=cwd, env=environment, stdout=terminal,
                               stderr=subprocess.DEVNULL)
    os.close(terminal)
    received = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    return received.decode()


@pytest.mark.parametrize("output_format", ["csv", "table"])
def test_query_on_a_terminal_shows_the_escapes_instead_of_running_them(hostile, tmp_path, output_format):
    sql = ("select m.name, probe_name, probe_category_name from analytics.probe_runs join analytics.models m "
           "using (model_id)")
    shown = run_on_a_terminal("query", sql, "--db", str(hostile), "--format", output_format, cwd=tmp_path)
    for value in (MODEL, PROBE, CATEGORY):
        written = value.replace('"', '""') if output_format == "csv" else value  # CSV doubles quotes in a field
        assert terminal_text(written, multiline=True) in shown
    for sequence in ("\x1b[31m", "\x1b]8;;", "\x07", "\x9b", "\u202e", "\rOverwritten"):
        assert sequence not in shown  # (rich may style its own table on a terminal; the data's codes never pass)
