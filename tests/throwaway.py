"""Starting the suite's throwaway servers (PostgreSQL, Spark) the same way everywhere."""

from __future__ import annotations

import os
from typing import Any

import pytest


def started(server: Any, unavailable: type[Exception], what: str) -> Any:
    """`server` started. When it cannot start (its Debian package or wheel is missing) the test is skipped with the
    reason, except under CI=true, where it fails: CI runs every test."""
    try:
        server.start()
    except unavailable as exc:
        server.stop()
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the {what} tests: {exc}")
        pytest.skip(str(exc))
    return server
