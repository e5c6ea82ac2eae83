"""Apache Superset in a virtual environment of its own, installed on demand for tests/test_superset.py.

Superset cannot share the project's environment (it pins SQLAlchemy 1.4, Flask and half of PyPI), so it lives in
`.cache/superset/<hash of the pins>/` under the repository root (ignored by git): a Python 3.11 venv with exactly
what `bi/superset/requirements.txt` lists, the file users install from too (docs/superset.md). As in
tests/readers.py, the folder is complete once its marker `.complete` exists (written last, holding the pins); an
exclusive lock on `.cache/superset/.lock` serialises installs. The first install downloads from PyPI (a few
minutes); later runs reuse it. A failure raises `ReaderUnavailable` with pip's last lines of output.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from tests.readers import REPO_ROOT, ReaderUnavailable, _complete, _fresh, _mark, _run, cache_lock

REQUIREMENTS = REPO_ROOT / "bi" / "superset" / "requirements.txt"
CACHE = REPO_ROOT / ".cache" / "superset"

__all__ = ["REQUIREMENTS", "ReaderUnavailable", "superset_bin"]


def superset_bin() -> Path:
    """The venv's `bin/` folder (holding `superset` and `python`), installing the pins on first use."""
    pins = REQUIREMENTS.read_text()
    spec = {"requirements": pins, "python": sys.version.split()[0]}
    folder = CACHE / hashlib.sha256(pins.encode()).hexdigest()[:12]
    with cache_lock(CACHE):
        if not _complete(folder, spec):
            _fresh(folder)
            _run([sys.executable, "-m", "venv", str(folder)], "python -m venv (Superset)")
            _run([str(folder / "bin" / "python"), "-m", "pip", "install", "--no-input", "-q", "-r",
                  str(REQUIREMENTS)], "pip install -r bi/superset/requirements.txt")
            _mark(folder, spec)
    return folder / "bin"
