"""The exit codes the documentation promises are the ones in the code (`pipelines.errors.ExitCode`)."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.errors import BenchmarksEtlError, ExitCode
from pipelines.warehouse.file_lock import LoadAlreadyRunning, LoadLockLost

ROOT = Path(__file__).resolve().parent.parent
TABLE_HEADER = re.compile(r"^\|\s*exit code\s*\|", re.IGNORECASE)


def documented_exit_codes() -> dict[Path, set[int]]:
    """Per Markdown file (README.md, docs/), the codes in the first column of its table of exit codes."""
    tables = {}
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        lines = document.read_text(encoding="utf-8").splitlines()
        starts = [index for index, line in enumerate(lines) if TABLE_HEADER.match(line)]
        for start in starts:
            codes = set()
            for line in lines[start + 2:]:  # past the header and the |---| line
                if not line.startswith("|"):
                    break
                codes.update(int(code) for code in re.findall(r"\d+", line.split("|")[1]))
            tables[document] = codes
    return tables


def every_error_class() -> list[type[BenchmarksEtlError]]:
    found, pending = [], [BenchmarksEtlError]
    while pending:
        error = pending.pop()
        found.append(error)
        pending.extend(error.__subclasses__())
    return found


def test_the_documented_table_of_exit_codes_is_the_code_s():
    tables = documented_exit_codes()
    assert tables, "no `| exit code | ... |` table in README.md or docs/"
    for document, codes in tables.items():
        assert codes == {int(code) for code in ExitCode}, f"{document.relative_to(ROOT)}: {sorted(codes)}"


def test_every_error_ends_with_an_exit_code_of_the_table():
    assert {LoadAlreadyRunning, LoadLockLost} <= set(every_error_class())  # the classes outside errors.py count too
    for error in every_error_class():
        assert isinstance(error.exit_code, ExitCode), error
