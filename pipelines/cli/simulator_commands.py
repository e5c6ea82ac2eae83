"""The commands that run the API simulator: demo (a load from it, start to end) and simulate (serve it). The
simulator is imported only when one of them runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines import interrupts
from pipelines.cli.one_line_errors import reports_errors
from pipelines.cli.options import DbOption, Scale, ScaleOption, VerboseOption


@reports_errors
def demo(
    db: DbOption = Path("benchmarks-demo.duckdb"),
    scale: ScaleOption = Scale.small,
    verbose: VerboseOption = False,
) -> None:
    """Start the API simulator on a free port, load it into a fresh demo warehouse, write benchmarks-demo.html."""
    from pipelines.cli.demo import run_demo

    run_demo(db, scale=scale.value, echo=typer.echo, html=Path("benchmarks-demo.html"))


def simulate(
    scale: ScaleOption = Scale.small,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 0,
    epoch: Annotated[int, typer.Option(help="World version: each step adds, re-scores and removes runs.")] = 0,
    api_key: Annotated[str, typer.Option(help="The key clients must send as X-Api-Key.")] = "demo-key",
    latency_ms: Annotated[float, typer.Option(help="Delay before every API response.")] = 0.0,
    fail_rate: Annotated[float, typer.Option(help="Fraction of requests answered 500/503/429 or dropped.")] = 0.0,
) -> None:
    """Serve the Benchmarks API simulator (deterministic synthetic data) until Ctrl-C."""
    from simulator.server import serve_forever

    interrupts.release()  # it stops on Ctrl-C / SIGTERM by itself

    serve_forever(
        seed=seed, scale=scale.value, epoch=epoch, api_key=api_key, latency_ms=latency_ms, fail_rate=fail_rate,
        port=port, announce=typer.echo,
    )
