"""`benchmarks-etl load`: one load of the API into the warehouse, with its options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines.api import settings
from pipelines.cli.one_line_errors import reports_errors
from pipelines.cli.options import DbOption, DestinationOption, QuietOption, VerboseOption
from pipelines.errors import ConfigError
from pipelines.readers.formats import TextOrJson
from pipelines.warehouse.destinations import Destination
from pipelines.warehouse.settings import DEFAULT_DB_FILE


def parse_type_ids(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--types expects comma-separated integer ids such as 1,3; got {value!r}.") from None


@reports_errors
def load(
    db: DbOption = Path(DEFAULT_DB_FILE),
    destination: DestinationOption = Destination.DUCKDB,
    base_url: Annotated[
        str | None,
        typer.Option(help=f"API root URL (default: {settings.BASE_URL_SETTING} or {settings.DEFAULT_BASE_URL})."),
    ] = None,
    types: Annotated[str | None, typer.Option(help="Only these benchmark type ids, e.g. 1,3.")] = None,
    workers: Annotated[
        int | None, typer.Option(help=f"Concurrent requests (default {settings.DEFAULT_WORKERS}).", min=1)
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Drop the loaded data and reload everything.")] = False,
    allow_insecure_http: Annotated[
        bool, typer.Option(help="Allow a plain http:// base URL to a non-loopback host (the key travels in clear).")
    ] = False,
    allow_mass_removal: Annotated[
        bool,
        typer.Option(help="This once, accept lists that flag more than sources.benchmarks.max_removal_fraction of "
                     "the runs or models as removed."),
    ] = False,
    output_format: Annotated[
        TextOrJson,
        typer.Option("--format", help="The summary as a line of text, or as one line of JSON (progress: stderr)."),
    ] = TextOrJson.TEXT,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Load the API into the warehouse incrementally, then re-create the analytics views."""
    from pipelines.load.runner import run_load
    from pipelines.progress import make_progress

    progress = make_progress(quiet=quiet)
    try:
        result = run_load(
            db, destination=destination, base_url=base_url, type_ids=parse_type_ids(types), workers=workers,
            full_refresh=full_refresh, progress=progress, allow_insecure_http=allow_insecure_http,
            allow_mass_removal=allow_mass_removal,
        )
    finally:
        progress.close()
    if quiet:
        return
    if output_format is TextOrJson.JSON:
        typer.echo(json.dumps(result.record(), ensure_ascii=False))
        return
    for notice in result.notices:
        typer.echo(notice)
    typer.echo(result.summary())
