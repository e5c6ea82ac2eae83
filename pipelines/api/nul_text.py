"""Text an engine cannot store: PostgreSQL refuses U+0000 (NUL) in text and in jsonb; DuckDB stores it.

For an engine that cannot store it (`Engine.stores_nul_characters` is False, the source's argument of that name),
every U+0000 in text the API sent is replaced with U+FFFD (the Unicode replacement character), and
the row records what was replaced in its `nul_replaced` column, e.g. "2 in content" or "1 in attack, 3 in config"
(NULL when nothing was). analytics.data_quality shows one row per such row (check nul_character_replaced).
On an engine that stores NUL nothing is touched: the text stays byte-exact and `nul_replaced` stays NULL.

Arrow batches are checked column by column with one vectorised search, so clean data costs almost nothing.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.tables import NUL_REPLACED_COLUMN

NUL = "\x00"
REPLACEMENT = "\ufffd"


def replace_nul_in_table(table: pa.Table) -> pa.Table:
    """`table` with every U+0000 in its string columns replaced by U+FFFD, and `nul_replaced` saying how many per
    column, for the rows concerned. The same table when there is none."""
    counts: list[tuple[str, Any]] = []
    for index, field in enumerate(table.schema):
        if field.name == NUL_REPLACED_COLUMN or not (pa.types.is_string(field.type)
                                                     or pa.types.is_large_string(field.type)):
            continue
        column = table.column(index)
        if not pc.any(pc.match_substring(column, NUL)).as_py():
            continue
        counts.append((field.name, pc.count_substring(column, NUL)))
        table = table.set_column(index, field, pc.replace_substring(column, NUL, REPLACEMENT))
    if not counts:
        return table
    # Each part is ", <n> in <column>" or "" (no nulls: pyarrow 26.0.1's binary_join_element_wise with null_handling
    # "skip" returned too few rows when a row was all null); the leading ", " is cut off at the end.
    parts = [
        pc.if_else(pc.greater(count, 0), pc.binary_join_element_wise(",", count.cast(pa.string()), f"in {name}", " "),
                   "")
        for name, count in counts
    ]
    if NUL_REPLACED_COLUMN in table.column_names:  # a batch another step already marked keeps its note first
        earlier = table.column(NUL_REPLACED_COLUMN)
        parts.insert(0, pc.if_else(pc.is_null(earlier), "", pc.binary_join_element_wise(",", earlier, " ")))
    joined = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*parts, ""), 2)
    note = pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), joined)
    field = pa.field(NUL_REPLACED_COLUMN, pa.string())
    if NUL_REPLACED_COLUMN in table.column_names:
        return table.set_column(table.column_names.index(NUL_REPLACED_COLUMN), field, note)
    return table.append_column(field, note)


def replace_nul_in_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row (a dict, as the list resources yield) with every U+0000 in its text, nested JSON values and their keys
    included, replaced by U+FFFD, and `nul_replaced` set; the same row when there is none."""
    counts: dict[str, int] = {}
    clean: dict[str, Any] = {}
    for key, value in row.items():
        clean[key], count = _replace(value)
        if count and key != NUL_REPLACED_COLUMN:
            counts[key] = count
    if not counts:
        return row
    clean[NUL_REPLACED_COLUMN] = ", ".join(f"{count} in {key}" for key, count in counts.items())
    return clean


def _replace(value: Any) -> tuple[Any, int]:
    if isinstance(value, str):
        count = value.count(NUL)
        return (value.replace(NUL, REPLACEMENT), count) if count else (value, 0)
    if isinstance(value, dict):
        total, result = 0, {}
        for key, item in value.items():
            new_key, key_count = _replace(key)
            result[new_key], item_count = _replace(item)
            total += key_count + item_count
        return (result, total) if total else (value, 0)
    if isinstance(value, list | tuple):
        replaced = [_replace(item) for item in value]
        total = sum(count for _, count in replaced)
        return ([item for item, _ in replaced], total) if total else (value, 0)
    return value, 0
