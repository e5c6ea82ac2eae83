"""Apache Superset in a virtual environment of its own, installed on demand for tests/test_superset.py.

Superset cannot share the project's environment (it pins SQLAlchemy 1.4, Flask and half of PyPI), so it lives in
`.cache/superset/<hash of the pins>/` under the repository root (ignored by git): a Python 3.11 venv with exactly
what `bi/superset/requirements.txt` lists, the file users install from too (docs/superset.md). As in
tests/readers.py, the folder is complete once its marker `.complete` exists (written last, holding the pins); an
exclusive lock on `.cache/superset/.lock` serialises installs. The first install downloads from PyPI (a few
minutes); later runs reuse it. A failure raises `ReaderUnavailable` with pip's last lines of output.
"""

from __future__ import annotations

from pathlib import Path

from tests.readers import REPO_ROOT, ReaderUnavailable, pip_environment

REQUIREMENTS = REPO_ROOT / "bi" / "superset" / "requirements.txt"
CACHE = REPO_ROOT / ".cache" / "superset"

__all__ = ["REQUIREMENTS", "ReaderUnavailable", "superset_bin"]


def superset_bin() -> Path:
    """The venv's `bin/` folder (holding `superset` and `python`), installing the pins on first use."""
    return pip_environment(REQUIREMENTS, CACHE) / "bin"
