"""The notebook of `bi/notebooks/`, executed as its users run it (`jupyter nbconvert --to notebook --execute`, in
the environment `bi/notebooks/requirements.txt` pins, installed on first use into `.cache/notebook/` by
tests/readers.py's `pip_environment`), and its outputs read back as tables for tests/test_notebook.py.

Cells are found by their tags (cell metadata `tags`, which Jupyter shows and keeps), never by position, so cells
may be added or moved freely; a DataFrame is read from the HTML table pandas shows for it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.readers import REPO_ROOT, ReaderUnavailable, pip_environment

NOTEBOOK = REPO_ROOT / "bi" / "notebooks" / "benchmarks.ipynb"
REQUIREMENTS = NOTEBOOK.parent / "requirements.txt"
CACHE = REPO_ROOT / ".cache" / "notebook"
CELL_TIMEOUT = 120  # seconds, per cell
RUN_TIMEOUT = 300  # seconds for the whole nbconvert run


@dataclass(frozen=True)
class Shown:
    """A DataFrame as the notebook shows it: column names and each row's cells as text (the index left out)."""

    columns: list[str]
    rows: list[list[str]]

    def pick(self, columns: list[str]) -> list[list[str]]:
        """The rows, only these columns, in this order."""
        positions = [self.columns.index(column) for column in columns]
        return [[row[position] for position in positions] for row in self.rows]


def notebook_environment() -> Path:
    """The environment's folder, installed on first use. matplotlib's font cache is built here once (its folder
    inside the environment), so that no run of the notebook prints "building the font cache" into a cell."""
    folder = pip_environment(REQUIREMENTS, CACHE)
    done = subprocess.run([str(folder / "bin" / "python"), "-c", "import matplotlib.pyplot"],
                          env=_environment(folder), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if done.returncode != 0:
        raise ReaderUnavailable(f"matplotlib does not import in {folder}: {done.stderr.strip()[-2000:]}")
    return folder


def execute(environment: Path, address: str, folder: Path) -> dict[str, Any]:
    """The notebook executed with BENCHMARKS_DB=`address`, written to `folder`, as JSON; AssertionError with
    nbconvert's last lines when a cell fails."""
    command = [str(environment / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
               f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", "--output-dir", str(folder), "--output", "executed",
               str(NOTEBOOK)]
    jupyter_home = folder / "jupyter"  # no configuration, kernel or IPython profile of the user's is picked up
    env = {**_environment(environment), "BENCHMARKS_DB": address, "JUPYTER_PLATFORM_DIRS": "1",
           "JUPYTER_CONFIG_DIR": str(jupyter_home / "config"), "JUPYTER_DATA_DIR": str(jupyter_home / "data"),
           "JUPYTER_RUNTIME_DIR": str(jupyter_home / "runtime"), "IPYTHONDIR": str(jupyter_home / "ipython")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, f"nbconvert --execute failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
    return json.loads((folder / "executed.ipynb").read_text(encoding="utf-8"))


def cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The code cells."""
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def tagged(notebook: dict[str, Any], tag: str) -> dict[str, Any]:
    """The one code cell with `tag`."""
    found = [cell for cell in cells(notebook) if tag in cell["metadata"].get("tags", [])]
    assert len(found) == 1, f"{len(found)} cells tagged {tag!r} in {NOTEBOOK.name}"
    return found[0]


def problems(notebook: dict[str, Any]) -> list[str]:
    """Every error and every line written to stderr (warnings included), in any cell."""
    found = []
    for cell in cells(notebook):
        for output in cell["outputs"]:
            if output["output_type"] == "error":
                found.append(f"{output['ename']}: {output['evalue']}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                found.append(_text(output["text"]))
    return found


def printed(cell: dict[str, Any]) -> str:
    """What the cell printed to stdout."""
    return "".join(_text(output["text"]) for output in cell["outputs"]
                   if output["output_type"] == "stream" and output["name"] == "stdout")


def images(cell: dict[str, Any]) -> int:
    """How many PNG images the cell shows."""
    return sum("image/png" in output.get("data", {}) for output in cell["outputs"])


def shown_table(cell: dict[str, Any]) -> Shown:
    """The DataFrame the cell shows (its last HTML output), read from pandas' HTML table."""
    html = [_text(output["data"]["text/html"]) for output in cell["outputs"] if "text/html" in output.get("data", {})]
    assert html, f"the cell shows no table: {cell['outputs']}"
    parser = _TableCells()
    parser.feed(html[-1])
    header, *body = parser.rows
    assert all("..." not in row for row in body), "pandas cut the table short (more rows than it shows)"
    return Shown(header[1:], [row[1:] for row in body])


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _environment(folder: Path) -> dict[str, str]:
    return {**os.environ, "MPLCONFIGDIR": str(folder / "matplotlib")}


class _TableCells(HTMLParser):
    """The text of each <th>/<td>, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
