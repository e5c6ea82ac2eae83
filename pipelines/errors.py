"""Typed errors and every exit code of the command line. Each error carries one sentence for the user: what went
wrong and what to do about it."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code `benchmarks-etl` ends with, in one place; the README's table of exit codes lists these
    (tests/test_exit_codes.py checks it)."""

    OK = 0
    FAILED = 1  # any other failure; also `status` unhealthy and `verify` finding a problem
    INVALID_SETTING = 2
    API_KEY = 3
    API_UNAVAILABLE = 4
    API_DATA = 5
    WAREHOUSE = 6
    REGRESSION = 10  # `check`: a model regressed beyond the thresholds (not a failure: the gate did its job)
    TRY_AGAIN_LATER = 75  # EX_TEMPFAIL: another load holds the warehouse
    INTERRUPTED = 130  # 128 + SIGINT (Ctrl-C)
    TERMINATED = 143  # 128 + SIGTERM


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers and dlt add details below it), or its type's name."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class BenchmarksEtlError(Exception):
    """Base class: the CLI prints str(error) on one line and exits with `exit_code`."""

    exit_code = ExitCode.FAILED


class ApiError(BenchmarksEtlError):
    """The Benchmarks API answered something we cannot use."""


class ApiAuthError(ApiError):
    """The API key is missing or was rejected (401/403)."""

    exit_code = ExitCode.API_KEY


class ApiUnavailableError(ApiError):
    """The API could not be reached, or kept failing after every retry."""

    exit_code = ExitCode.API_UNAVAILABLE


class ApiDataError(ApiError):
    """A response body is malformed or lacks a required field."""

    exit_code = ExitCode.API_DATA


class ConfigError(BenchmarksEtlError):
    """A command-line option or setting is invalid."""

    exit_code = ExitCode.INVALID_SETTING


class WarehouseError(BenchmarksEtlError):
    """The DuckDB warehouse could not be read or written."""

    exit_code = ExitCode.WAREHOUSE


class UnhealthyWarehouseError(BenchmarksEtlError):
    """`check --max-age`: the warehouse is stale or its last load failed, as `status` would say; a gate must not pass
    on data that stopped loading."""


class OutOfSpaceError(WarehouseError):
    """The file system of the warehouse (or of its working folder) is too full for the load."""


class MassRemovalError(ApiDataError):
    """The API's lists would flag more of the warehouse as removed than the load may (max_removal_fraction)."""
