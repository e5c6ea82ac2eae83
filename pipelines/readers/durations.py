"""Durations as people write and read them: `--max-age 26h` in, "3.5 h" out (status, report)."""

from __future__ import annotations

import re
from datetime import timedelta

from pipelines.errors import ConfigError

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """'90m', '26h', '2d' or plain seconds."""
    match = DURATION.match(text or "")
    if not match:
        raise ConfigError(f"--max-age expects a duration such as 90m, 26h or 2d; got {text!r}.")
    return timedelta(seconds=float(match.group(1)) * UNIT_SECONDS[match.group(2)])


def duration_text(delta: timedelta) -> str:
    """In the unit that keeps the number short: seconds up to 2 minutes, minutes up to 2 hours, hours up to 2 days."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
