"""The output formats of the commands: the CLI's --format choices (the reading commands', and `load`'s summary)."""

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


class TextOrJson(StrEnum):
    """Output formats of `check`, `status` and `load`'s summary: for people, or one JSON document for machines."""

    TEXT = "text"
    JSON = "json"
