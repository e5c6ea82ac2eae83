"""Text from the API (and from anything else we do not control) is data: shown literally, never obeyed.

Three places could obey it: a terminal (escape sequences move the cursor, rewrite lines, set the window title or
make OSC 8 links; CR overwrites what came before), rich (square-bracket markup and `:emoji:` codes; we hand it
`Text` objects, never markup strings) and plotly's SVG text (`<a href>`, `<span style>`, `<br>`, `<b>` ...). And
a spreadsheet opening a CSV file obeys a cell that starts with `=`, `+`, `-` or `@` as a formula (OWASP's
"CSV injection"). One function for each, used at every output point.
"""

from __future__ import annotations

import html
import re
from enum import StrEnum
from typing import Any

# Every control character (C0, DEL, C1), the Unicode line and paragraph separators, and the bidirectional controls
# that reorder what a terminal shows ("Trojan source"). Tab and line feed are handled by the callers' choice.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("[\t\n]")


def _visible(match: re.Match[str]) -> str:
    """`\\x1b` for ESC, `\\u202e` for a bidi override: Python's own escapes, plain ASCII, easy to search for."""
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(value: Any, *, multiline: bool = False) -> str:
    """`value` as a string a terminal shows literally: control characters become visible escapes (`\\x1b[31m`
    prints as those seven characters). Tab and line feed too, unless `multiline` (a table cell may span lines; an
    error or status line may not, so a value cannot forge a line of its own)."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(_visible, text)
    return text if multiline else _LINE_BREAKS.sub(_visible, text)


def rich_text(value: Any, *, multiline: bool = True) -> Any:
    """A rich `Text` of `terminal_text(value)`: rich renders it as is (no markup, no emoji codes)."""
    from rich.text import Text

    return Text(terminal_text(value, multiline=multiline))


def plotly_text(value: Any) -> str:
    """`value` for a plotly label, title, legend or hover text: `<`, `>` and `&` as entities, which plotly shows as
    the characters instead of reading tags (`<a href>`, `<span style>`, `<br>` ...) from them."""
    return html.escape(terminal_text(value), quote=False)


def html_text(value: Any) -> str:
    """`value` as HTML text (element content or a quoted attribute): every markup character as an entity."""
    return html.escape(terminal_text(value))


class CsvFormulas(StrEnum):
    """What CSV output does with text cells a spreadsheet would run as formulas (the CLI's --csv-formulas)."""

    ESCAPE = "escape"  # prefix a single quote, as OWASP advises: the cell shows the text, nothing runs
    KEEP = "keep"  # byte for byte as stored, for programs (not spreadsheets) that read the file


# OWASP, "CSV Injection": cells starting with these are formulas to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = "^[=+\\-@\t\r]"
FORMULA_PREFIX = "'"


def csv_cell(value: Any, formulas: CsvFormulas = CsvFormulas.ESCAPE) -> Any:
    """A text cell that would start a formula gets the prefix; numbers, dates and other text stay as they are."""
    if formulas is CsvFormulas.ESCAPE and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return FORMULA_PREFIX + value
    return value


def csv_batch(batch: Any, formulas: CsvFormulas = CsvFormulas.ESCAPE) -> Any:
    """`csv_cell` for every text column of an Arrow record batch (`export --format csv`), column-wise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if formulas is CsvFormulas.KEEP:
        return batch
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pc.fill_null(pc.match_substring_regex(column, FORMULA_PATTERN), False)
            prefix, separator = pa.scalar(FORMULA_PREFIX, column.type), pa.scalar("", column.type)
            prefixed = pc.binary_join_element_wise(prefix, column, separator)
            column = pc.if_else(starts, prefixed, column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def json_text(text: str) -> str:
    """JSON output with every control character as a `\\uXXXX` escape: the same JSON, safe on a terminal (the
    `json` module escapes C0 itself but writes DEL, C1 and the bidi controls raw)."""
    return _CONTROL.sub(lambda match: f"\\u{ord(match.group(0)):04x}", text)
