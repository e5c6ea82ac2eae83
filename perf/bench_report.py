"""The harness's report: medians of each contender's measurements as a Markdown table, and the ratios the targets
are set in (ours / floor, peer / ours, each engine's reloads / its full load, each engine / DuckDB)."""

from __future__ import annotations

import statistics
from typing import Any

from contenders import CHANGE, FULL, NO_CHANGE
from stages import describe

from simulator.world import World


def median(values: list[float]) -> float:
    return statistics.median(values)


def _median_or_dash(values: list[float | None], digits: int) -> str:
    present = [value for value in values if value is not None]
    return f"{median(present):.{digits}f}" if present else "—"


def _median_stages(measurements: list[Any]) -> dict[str, float]:
    """The median of every stage over the repetitions that recorded it."""
    recorded = [m.stages for m in measurements if m.stages]
    names = dict.fromkeys(name for stages in recorded for name in stages)
    return {name: median([stages.get(name, 0.0) for stages in recorded]) for name in names}


def _reload_ratios(med: dict[str, float]) -> list[str]:
    """Each engine's no-change and change reload against its own full load."""
    lines = []
    for full, no_change, change in zip(FULL, NO_CHANGE, CHANGE, strict=True):
        for reload, what in ((no_change, "no-change"), (change, "change")):
            if full in med and reload in med:
                lines.append(f"- {full}: {what} reload / full load = **{med[reload] / med[full]:.2f}**")
    return lines


def report(scenario: Any, results: dict[str, list[Any]]) -> list[str]:
    cases = World(scale=scenario.scale).counts()["test_cases"]
    lines = [
        f"### `{scenario.scale}` scale, latency {scenario.latency_ms:g} ms — {cases:,} test cases, "
        f"median of {scenario.repeat}",
        "",
        "| contender | wall s | requests | test cases/s | peak RSS MB | CPU s | simulator CPU s | server CPU s "
        "| stored MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    med = {}
    for name, measurements in results.items():
        seconds = median([m.seconds for m in measurements])
        med[name] = seconds
        loaded = 0 if name in NO_CHANGE or name in CHANGE else cases
        rate = f"{loaded / seconds:,.0f}" if loaded else "—"
        lines.append(f"| {name} | {seconds:.2f} | {measurements[0].requests:,} | {rate} | "
                     f"{median([m.peak_rss_mb for m in measurements]):.0f} | "
                     f"{median([m.cpu_seconds for m in measurements]):.2f} | "
                     f"{median([m.simulator_cpu_seconds for m in measurements]):.2f} | "
                     f"{_median_or_dash([m.server_cpu_seconds for m in measurements], 2)} | "
                     f"{_median_or_dash([m.file_mb for m in measurements], 1)} |")
    lines.append("")
    if "ours" in med and "floor" in med:
        lines.append(f"- ours / floor = **{med['ours'] / med['floor']:.2f}**")
    if "ours" in med and "peer" in med:
        lines.append(f"- peer / ours = **{med['peer'] / med['ours']:.2f}**")
    lines.extend(_reload_ratios(med))
    if "ours-2.0-storage" in med:
        sizes = {name: median([m.file_mb for m in results[name]]) for name in ("ours", "ours-2.0-storage")}
        ratio = med["ours"] / med["ours-2.0-storage"]
        lines.append(f"- DuckDB 1.1 storage / DuckDB 2.0 storage: load time **{ratio:.2f}**, "
                     f"file size **{sizes['ours'] / sizes['ours-2.0-storage']:.2f}**")
    for name, label, target in (("ours-postgres", "PostgreSQL", 2), ("ours-spark", "Spark", 3)):
        if "ours" in med and name in med:
            lines.append(f"- {label} / DuckDB full load = **{med[name] / med['ours']:.2f}** (target: {target})")
    staged = {name: _median_stages(measurements) for name, measurements in results.items()}
    staged = {name: stages for name, stages in staged.items() if stages}
    if staged:
        lines.append("- stages of the full and change loads, median seconds (from their stderr stage lines; `setup` "
                     "= before the first, `load` includes the prune, `publish` = refilling `analytics` on PostgreSQL):")
        lines.extend(f"  - {name}: {describe(stages)}" for name, stages in staged.items())
    lines.append("")
    return lines
