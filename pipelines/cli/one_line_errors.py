"""How a command ends on an error: one line on stderr and the error's exit code; a traceback only with --verbose."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from pipelines import interrupts
from pipelines.errors import BenchmarksEtlError, ExitCode
from pipelines.safe_text import terminal_text
from pipelines.warehouse.destinations import Destination

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Our errors end the command with one line on stderr and their exit code; tracebacks only with --verbose."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(kwargs.get("verbose"))
        if verbose:
            os.environ["RUNTIME__LOG_LEVEL"] = "INFO"
        try:
            if kwargs.get("destination") in (Destination.POSTGRES, Destination.SPARK):  # dlt resolves the settings
                from pipelines.load.dlt_runtime import use_dlt_configuration

                use_dlt_configuration()
            with interrupts.running(verbose=verbose), interrupts.as_interruption():
                return command(*args, **kwargs)
        except BenchmarksEtlError as exc:
            if verbose:
                traceback.print_exc()
            _echo_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            if interrupts.claim_exit():  # the one line, unless the watchdog printed it already
                typer.echo(interrupts.message(), err=True)
            raise typer.Exit(interrupts.exit_code(exc)) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # a bug or an environment problem we did not foresee: still one line
            if verbose:
                traceback.print_exc()
            _echo_error(f"unexpected {type(exc).__name__}: {exc} (run again with --verbose for details)")
            raise typer.Exit(ExitCode.FAILED) from None

    return wrapper  # type: ignore[return-value]


def _echo_error(message: str) -> None:
    """One line, shown literally: an API's error body or a name in the message cannot drive the terminal."""
    typer.echo(f"error: {terminal_text(message)}", err=True)
