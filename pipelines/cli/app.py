"""The `benchmarks-etl` command line: the typer app, its commands in the order `--help` lists them, and `main`.

The commands live by what they do: load_command.py, reader_commands.py (query, export, status, check, report, verify),
simulator_commands.py (demo, simulate); the options they share in options.py, the one-line errors in
one_line_errors.py.
"""

from __future__ import annotations

import sys

import typer

from pipelines import interrupts
from pipelines.cli.load_command import load
from pipelines.cli.reader_commands import check, export, query, report, status, verify
from pipelines.cli.simulator_commands import demo, simulate

app = typer.Typer(
    help="Load the Benchmarks API (LLM security benchmarks) into DuckDB or PostgreSQL; keep pass-rate views over it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for command in (load, demo, query, export, status, check, report, verify, simulate):
    app.command()(command)


def main() -> None:
    interrupts.install()  # Ctrl-C / SIGTERM: one line, exit 130 / 143, within seconds, at any moment
    try:
        app(prog_name="benchmarks-etl")
    finally:
        interrupts.exit_if_interrupted()  # without waiting for threads that may never end (a hung read)


if __name__ == "__main__":
    sys.exit(main())
