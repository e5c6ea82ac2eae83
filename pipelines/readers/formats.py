"""The output formats of the reading commands: the CLI's --format choices."""

from enum import StrEnum


class QueryFormat(StrEnum):
    """Output formats of `query`."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class ExportFormat(StrEnum):
    """File formats of `export`."""

    PARQUET = "parquet"
    CSV = "csv"
