"""The options several commands share, as annotated types: typer reads the flag, its help and its choices from them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipelines.safe_text import CsvFormulas
from pipelines.warehouse.destinations import Destination

DbOption = Annotated[
    Path, typer.Option("--db", help="Warehouse file (DuckDB).", show_default=True)
]
DestinationOption = Annotated[
    Destination,
    typer.Option(
        "--destination",
        help="Warehouse engine: a DuckDB file (--db), or the PostgreSQL database named by "
        "DESTINATION__POSTGRES__CREDENTIALS or the destination.postgres section of .dlt/secrets.toml, or a Parquet "
        "lake and the Spark Connect endpoint named by DESTINATION__SPARK__LAKE_URL and "
        "DESTINATION__SPARK__CONNECT_URL (docs/spark.md).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary; errors only.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs on errors.")]

# The simulator's scales (simulator/scales.py), smallest first, as choices of --scale: typer lists them in --help
# and rejects others. Named here, not imported, so that only the commands that run the simulator import it
# (tests/test_cli_options.py checks that both agree).
SIMULATOR_SCALES = ("tiny", "small", "medium", "large")
Scale = StrEnum("Scale", {name: name for name in SIMULATOR_SCALES})
ScaleOption = Annotated[Scale, typer.Option(help="Size of the simulated world.")]

CsvFormulasOption = Annotated[
    CsvFormulas,
    typer.Option(
        "--csv-formulas",
        help="CSV text cells starting with = + - @ tab or CR: 'escape' prefixes a single quote so spreadsheets show "
        "them as text (OWASP); 'keep' writes them unchanged.",
    ),
]
