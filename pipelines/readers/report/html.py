"""The report as one self-contained HTML file: plotly charts with plotly.js inlined, no network at view time."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from pipelines.readers.report.data import ReportData
from pipelines.readers.report.terminal import freshness, percent
from pipelines.safe_text import html_text, plotly_text  # every API string: plotly labels read tags
from pipelines.warehouse import paths

CHART_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1f2933; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem; border-bottom: 1px solid #d9e2ec; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #e4e7eb; }
td.num, th.num { text-align: right; } .muted { color: #7b8794; } .bad { color: #c62828; font-weight: 600; }
.chart { margin: 1rem 0; }
"""


def leaderboard_figures(data: ReportData) -> list[go.Figure]:
    groups: dict[int | None, list[dict]] = defaultdict(list)
    for row in data.leaderboard:
        groups[row["benchmark_type_id"]].append(row)
    figures = []
    for group in groups.values():
        title = f"Leaderboard — {plotly_text(group[0]['benchmark_type_name'])}"
        rows = [r for r in group if r["pass_rate"] is not None][::-1]  # best on top
        labels = [f"#{r['rank']} {plotly_text(r['model_name'])} ({plotly_text(r['provider'])})" for r in rows]
        figure = go.Figure(
            go.Bar(
                x=[100 * r["pass_rate"] for r in rows],
                y=labels,
                orientation="h",
                marker_color="#2f80ed",
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [100 * (r["pass_rate_high"] - r["pass_rate"]) for r in rows],
                    "arrayminus": [100 * (r["pass_rate"] - r["pass_rate_low"]) for r in rows],
                    "color": "#1f2933",
                },
                hovertemplate="%{y}<br>pass rate %{x:.1f}%<extra></extra>",
            )
        )
        figure.update_layout(
            title=title,
            xaxis={"title": "pass rate (%), with 95% Wilson interval", "range": [0, 100]},
            height=max(260, 32 * len(rows) + 120),
            margin={"l": 260, "r": 30, "t": 60, "b": 50},
        )
        figures.append(figure)
    return figures


def heatmap_figure(data: ReportData) -> go.Figure:
    type_names = {t["benchmark_type_id"]: t["name"] for t in data.types}
    columns = sorted({(r["benchmark_type_id"], r["probe_category_name"]) for r in data.categories},
                     key=lambda c: (c[0], c[1] or ""))
    models = sorted({r["model_name"] for r in data.categories})
    cells = {(r["model_name"], (r["benchmark_type_id"], r["probe_category_name"])): r for r in data.categories}
    z = [[None if (cell := cells.get((m, c))) is None or cell["pass_rate"] is None else 100 * cell["pass_rate"]
          for c in columns] for m in models]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{plotly_text(type_names.get(t, t))}: {plotly_text(name)}" for t, name in columns],
            y=[plotly_text(model) for model in models],
            colorscale="RdYlGn",
            zmin=0,
            zmax=100,
            colorbar={"title": "pass rate %"},
            hovertemplate="%{y}<br>%{x}<br>pass rate %{z:.1f}%<extra></extra>",
        )
    )
    figure.update_layout(title="Pass rate by model and probe category (latest run of each probe)",
                         height=max(420, 40 * len(models) + 320), margin={"l": 200, "b": 180})
    return figure


def trend_figure(data: ReportData) -> go.Figure:
    daily: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in data.trend:  # daily rows summed per week (Monday), which reads better than daily noise
        entry = daily[row["model_id"]][row["day"] - timedelta(days=row["day"].weekday())]
        entry[0] += row["passed"]
        entry[1] += row["failed"]
    figure = go.Figure()
    for model_id, days in sorted(daily.items()):
        points = [(day, 100 * p / (p + f)) for day, (p, f) in sorted(days.items()) if p + f]
        figure.add_trace(go.Scatter(x=[d for d, _ in points], y=[v for _, v in points], mode="lines+markers",
                                    name=plotly_text(data.model_names.get(model_id, model_id))))
    figure.update_layout(title="Pass rate over time (every run, by week)", yaxis={"title": "pass rate (%)",
                         "range": [0, 100]}, xaxis={"title": "week"}, height=460)
    return figure


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{cell}</td>' for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: ReportData) -> str:
    charts = [*leaderboard_figures(data), heatmap_figure(data), trend_figure(data)]
    divs = [figure.to_html(full_html=False, include_plotlyjs=False, config=CHART_CONFIG,
                           div_id=f"chart-{index}") for index, figure in enumerate(charts)]
    leaderboards, heatmap, trend = divs[:-2], divs[-2], divs[-1]
    regressions = _table(
        ["model", "type", "probe", "previous run", "latest run", "previous", "latest", "change", "significant"],
        [[html_text(r["model_name"]), str(r["benchmark_type_id"]), html_text(r["probe_name"]),
          str(r["previous_run_id"]), str(r["latest_run_id"]), percent(r["previous_pass_rate"]),
          percent(r["latest_pass_rate"]), f"{100 * r['delta']:+.1f} pts",
          '<span class="bad">yes</span>' if r["significant"] else "no"] for r in data.regressions],
        numeric={3, 4, 5, 6, 7},
    ) if data.regressions else '<p class="muted">No probe got worse in its latest run.</p>'
    quality = _table(
        ["check", "entity", "id", "detail"],
        [[html_text(r[k]) for k in ("check_name", "entity", "entity_id", "detail")] for r in data.data_quality],
    ) if data.data_quality else '<p class="muted">No data-quality problems found.</p>'
    loads = _table(
        ["load", "started (UTC)", "finished (UTC)", "status", "test cases loaded"],
        [[html_text(r["load_id"]), f"{r['started_at']:%Y-%m-%d %H:%M:%S}", f"{r['finished_at']:%Y-%m-%d %H:%M:%S}",
          html_text(r["status"]), f"{r['test_cases_loaded']:,}"] for r in data.loads[:20]],
        numeric={4},
    )
    scope = "all benchmark types" if data.type_id is None else f"benchmark type {data.type_id}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Benchmarks report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>LLM security benchmarks — pass rates</h1>
<p class="muted">Warehouse {html_text(data.warehouse)}, {scope}. Pass rate = passed / (passed + failed);
errors excluded; current figures use the latest run of each probe. {html.escape(freshness(data))}</p>
<h2 id="leaderboard">Leaderboard</h2>
{''.join(f'<div class="chart leaderboard">{div}</div>' for div in leaderboards)}
<h2 id="heatmap">Pass rate by model and category</h2>
<div class="chart heatmap">{heatmap}</div>
<h2 id="trend">Trends</h2>
<div class="chart trend">{trend}</div>
<h2 id="regressions">Regressions</h2>
{regressions}
<h2 id="data-quality">Data quality</h2>
{quality}
<h2 id="freshness">Freshness</h2>
<p>{html.escape(freshness(data))}</p>
{loads}
</body></html>
"""


def write_html(data: ReportData, path: str | Path) -> Path:
    """Write atomically: a browser or a web server never sees half a file."""
    target = Path(path).expanduser().resolve()
    paths.write_text_atomically(target, render_html(data))
    return target
