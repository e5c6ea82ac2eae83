"""The DuckDB clients a BI tool or notebook may use to open the warehouse, installed on demand for the tests.

`tests/test_readers.py` reads every `analytics` view with each of them and compares the answers. The readers live
in `.cache/readers/` under the repository root (ignored by git), created on first use and reused afterwards:

- `python-duckdb-<version>/`: a virtual environment (made with the interpreter running the tests, Python 3.11)
  with `duckdb==<version>` and `pytz` from PyPI (duckdb 1.x's Python client needs pytz to return TIMESTAMP WITH
  TIME ZONE values; 2.0 does not);
- `node-api-<version>/`: a folder with `@duckdb/node-api` pinned exactly in its package.json, installed with
  `npm install --no-audit --no-fund`.

Each folder is complete once its marker file `.complete` exists (written last, holding what was installed); a
folder without it, or with a different one, is deleted and installed again. An exclusive `fcntl` lock on
`.cache/readers/.lock` serialises installs, so two pytest processes starting at once install each reader once.
Nothing is printed on success; a failure raises `ReaderUnavailable` with the installer's last lines of output.

Needs only what a fresh machine has: Python 3.11 with its `venv` module and pip, node and npm, and access to the
PyPI and npm registries (through whatever pip and npm are configured to use).

The readers run `tests/reader_scripts/read_views.py` / `read_views.mjs`, which print every view as JSON.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE = REPO_ROOT / ".cache" / "readers"
SCRIPTS = Path(__file__).resolve().parent / "reader_scripts"
PYTHON_SCRIPT = SCRIPTS / "read_views.py"
NODE_SCRIPT = SCRIPTS / "read_views.mjs"

# What tests/test_readers.py proves, and docs/bi.md lists: keep them in step.
PYTHON_DUCKDB_VERSIONS = ("1.1.3", "1.4.4", "1.5.6")  # one virtual environment each
PROJECT_DUCKDB_VERSION = "2.0.1"  # the project's own environment (pyproject.toml) is the 2.0.x reader
PYTZ_VERSION = "2026.6"
NODE_API_VERSION = "1.4.5-r.1"  # @duckdb/node-api: the newest 1.4.x release (embeds DuckDB 1.4.5)

INSTALL_TIMEOUT = 900  # seconds per install command
READ_TIMEOUT = 300  # seconds for one reader to read every view
MARKER = ".complete"


class ReaderUnavailable(Exception):
    """A reader could not be installed (no node or npm, no registry, a failed install); the message says why."""


@dataclass(frozen=True)
class Reader:
    """A way to run a reader script: `command + [database path]` in `cwd` prints the views as JSON."""

    name: str
    command: tuple[str, ...]
    cwd: Path | None = None

    def read(self, db: Path) -> dict[str, Any]:
        """{"reader": ..., "views": {view: {"columns": [...], "rows": [[...]]}}}; raises RuntimeError on failure."""
        done = subprocess.run(
            [*self.command, str(db)], cwd=self.cwd, capture_output=True, text=True, timeout=READ_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} could not read {db.name} (exit {done.returncode}): {_tail(done.stderr)}")
        return json.loads(done.stdout)


def project_reader() -> Reader:
    """The project's own DuckDB (the interpreter running the tests), running the same script as the others."""
    import duckdb

    return Reader(f"python duckdb {duckdb.__version__} (project)", (sys.executable, str(PYTHON_SCRIPT)))


def python_reader(version: str) -> Reader:
    """Python with `duckdb==version`, in its own virtual environment (installed on first use)."""
    folder = CACHE / f"python-duckdb-{version}"
    python = folder / "bin" / "python"
    spec = {"duckdb": version, "pytz": PYTZ_VERSION, "python": sys.version.split()[0]}
    with cache_lock(CACHE):
        if not _complete(folder, spec):
            _fresh(folder)
            _run([sys.executable, "-m", "venv", str(folder)], "python -m venv")
            _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q",
                  f"duckdb=={version}", f"pytz=={PYTZ_VERSION}"], f"pip install duckdb=={version}")
            _mark(folder, spec)
    return Reader(f"python duckdb {version}", (str(python), str(PYTHON_SCRIPT)))


def node_reader(version: str = NODE_API_VERSION) -> Reader:
    """node with `@duckdb/node-api@version` (installed on first use); the script resolves it from `cwd`."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise ReaderUnavailable("node and npm are needed for the @duckdb/node-api reader; not found on PATH")
    folder = CACHE / f"node-api-{version}"
    spec = {"@duckdb/node-api": version, "node": _output([node, "--version"])}
    with cache_lock(CACHE):
        if not _complete(folder, spec):
            _fresh(folder)
            package = {"name": "benchmarks-warehouse-readers", "private": True,
                       "dependencies": {"@duckdb/node-api": version}}
            (folder / "package.json").write_text(json.dumps(package, indent=2) + "\n")
            _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                 f"npm install @duckdb/node-api@{version}", cwd=folder)
            _mark(folder, spec)
    return Reader(f"node @duckdb/node-api {version}", (node, str(NODE_SCRIPT)), cwd=folder)


# ----- installing -------------------------------------------------------------------------------------------------
@contextmanager
def cache_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder/.lock` (tests/superset_env.py's installs use it too)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _complete(folder: Path, spec: dict[str, str]) -> bool:
    try:
        return json.loads((folder / MARKER).read_text()) == spec
    except (OSError, ValueError):
        return False


def _fresh(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def _mark(folder: Path, spec: dict[str, str]) -> None:
    partial = folder / (MARKER + ".tmp")
    partial.write_text(json.dumps(spec) + "\n")
    partial.replace(folder / MARKER)


def _run(command: list[str], what: str, cwd: Path | None = None) -> None:
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReaderUnavailable(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        raise ReaderUnavailable(f"{what} failed (exit {done.returncode}): {_tail(done.stderr + done.stdout)}")


def _output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise ReaderUnavailable(f"{' '.join(command)} failed: {exc}") from exc


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
