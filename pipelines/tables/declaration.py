"""How a raw table is declared: its columns, their logical types, its key and write disposition, and what derives from
the declaration (dlt hints, Arrow schema, DDL column list). The tables themselves are declared in `pipelines.tables`.

No dlt here, and pyarrow only when an Arrow type is asked for: a load that finds nothing changed never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

# Appended tables carry the load that brought each row: superseded and doubled rows are found by it.
LOAD_ID_COLUMN = "_dlt_load_id"
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
APPEND = "append"


class ColumnType(Enum):
    """A column's logical type; each engine names it in its own DDL (see pipelines/warehouse/engine.py)."""

    BIGINT = "bigint"
    TEXT = "text"
    DOUBLE = "double"
    TIMESTAMP = "timestamp"
    JSON = "json"


def arrow_type(column_type: ColumnType) -> pa.DataType:
    """The Arrow type of a column type's values (no JSON: JSON columns never travel in Arrow batches). pyarrow is
    imported here, not with the module: a load that finds nothing changed never needs it."""
    import pyarrow as pa

    return {
        ColumnType.BIGINT: pa.int64(),
        ColumnType.TEXT: pa.string(),
        ColumnType.DOUBLE: pa.float64(),
        ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    }[column_type]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    api_field: str | None = None  # the API's name for it; None for columns the loader computes

    def dlt_hint(self) -> dict[str, Any]:
        """A fresh dict each time: dlt writes into the hints it is given."""
        hint: dict[str, Any] = {"data_type": self.type.value, "nullable": self.nullable}
        if self.type is ColumnType.TIMESTAMP:
            hint["timezone"] = True
        return hint


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    write_disposition: dict[str, str] | str
    primary_key: tuple[str, ...] = ()

    @property
    def is_appended(self) -> bool:
        return self.write_disposition == APPEND

    def dlt_hints(self) -> dict[str, Any]:
        """Keyword arguments for `@dlt.resource` / `apply_hints`: the table's name, columns, key and disposition."""
        hints: dict[str, Any] = {
            "table_name": self.name,
            "columns": {column.name: column.dlt_hint() for column in self.columns},
            "write_disposition": self.write_disposition,
        }
        if self.primary_key:
            hints["primary_key"] = self.primary_key if len(self.primary_key) > 1 else self.primary_key[0]
        return hints

    def api_fields(self) -> dict[str, str]:
        """API field name -> column name, for the columns the API sends."""
        return {column.api_field: column.name for column in self.columns if column.api_field}

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the batches the source yields for this table."""
        import pyarrow as pa

        return pa.schema(
            [pa.field(column.name, arrow_type(column.type), nullable=column.nullable) for column in self.columns]
        )

    def ddl_columns(self, type_names: dict[ColumnType, str], quote: Any) -> str:
        """The column list of a CREATE TABLE, in an engine's type names."""
        columns = [f"{quote(column.name)} {type_names[column.type]}" for column in self.columns]
        if self.is_appended:
            columns.append(f"{quote(LOAD_ID_COLUMN)} {type_names[ColumnType.TEXT]}")
        return ", ".join(columns)
