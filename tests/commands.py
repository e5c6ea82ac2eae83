"""Running benchmarks-etl as a user or cron does: real subprocesses, their exit codes and what they print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SECRET = "s3cr3t-key-for-tests"


def run_cli(
    *args: str, cwd: Path, key: str | None = SECRET, env: dict | None = None, text: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`text=False`: stdout and stderr as bytes, exactly (text mode turns every CR into a line feed); `timeout` in
    seconds (a Spark reader plans every view for seconds each)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    if key is not None:
        environment["SOURCES__BENCHMARKS__API_KEY"] = key
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args], cwd=cwd, env=environment, capture_output=True, text=text,
        timeout=timeout,
    )


STAGE_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[\s*\d+\.\ds\] [a-z]+")


def assert_one_line_error(result: subprocess.CompletedProcess, exit_code: int, *fragments: str) -> None:
    """The error is one line at the end of stderr; without a terminal, stage log lines may precede it."""
    assert result.returncode == exit_code, result.stderr
    *stages, last = result.stderr.strip().splitlines()
    assert last.startswith("error: "), result.stderr
    assert all(STAGE_LINE.match(line) for line in stages), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in last
    assert SECRET not in result.stdout + result.stderr


HOLDING_READER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
count = lambda: connection.execute(f"select count(*) from analytics.{sys.argv[2]}").fetchall()[0][0]
print(count(), flush=True)
sys.stdin.readline()
print(count(), flush=True)
"""


class HoldingReader:
    """A second process that opens the warehouse read-only and keeps it open, as a BI tool does."""

    def __init__(self, db: Path, view: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", HOLDING_READER, str(db), view], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.first_count = int(self.process.stdout.readline())

    def count_again(self) -> int:
        """The view's rows as the still-open connection sees them now; the reader then exits."""
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        count = int(self.process.stdout.readline())
        self.process.wait(timeout=30)
        return count
