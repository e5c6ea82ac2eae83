"""Typed errors. Each carries one sentence for the user: what went wrong and what to do about it."""


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers and dlt add details below it), or its type's name."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class BenchmarksEtlError(Exception):
    """Base class: the CLI prints str(error) on one line and exits with `exit_code`."""

    exit_code = 1


class ApiError(BenchmarksEtlError):
    """The Benchmarks API answered something we cannot use."""


class ApiAuthError(ApiError):
    """The API key is missing or was rejected (401/403)."""

    exit_code = 3


class ApiUnavailableError(ApiError):
    """The API could not be reached, or kept failing after every retry."""

    exit_code = 4


class ApiDataError(ApiError):
    """A response body is malformed or lacks a required field."""

    exit_code = 5


class ConfigError(BenchmarksEtlError):
    """A command-line option or setting is invalid."""

    exit_code = 2


class WarehouseError(BenchmarksEtlError):
    """The DuckDB warehouse could not be read or written."""

    exit_code = 6


class OutOfSpaceError(WarehouseError):
    """The file system of the warehouse (or of its working folder) is too full for the load."""


class MassRemovalError(ApiDataError):
    """The API's lists would flag more of the warehouse as removed than the load may (max_removal_fraction)."""
