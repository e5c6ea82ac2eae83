"""The command line's options as typer declares them: choices, and the README's usage lines that list them."""

from __future__ import annotations

import pytest

from pipelines.query import EXPORT_FORMATS, QUERY_FORMATS
from simulator.scales import SCALES
from tests.test_cli import run_cli


def flat(text: str) -> str:
    """Text without rich's panel borders and line wrapping, so that a message reads as one line."""
    return " ".join(text.replace("│", " ").split())


CHOICES = [
    (("query", "select 1", "--format"), QUERY_FORMATS, "table"),
    (("export", "--out", "out", "--format"), EXPORT_FORMATS, "parquet"),
    (("demo", "--scale"), tuple(SCALES), "small"),
    (("simulate", "--scale"), tuple(SCALES), "small"),
]
CHOICE_IDS = ["query-format", "export-format", "demo-scale", "simulate-scale"]


@pytest.mark.parametrize("args, allowed, default", CHOICES, ids=CHOICE_IDS)
def test_a_bad_choice_is_a_usage_error_that_names_the_allowed_values(tmp_path, args, allowed, default):
    result = run_cli(*args, "nonsense", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    message = flat(result.stderr)
    assert "Usage: benchmarks-etl" in message
    assert f"Invalid value for '{args[-1]}'" in message and "'nonsense'" in message
    assert ", ".join(repr(value) for value in allowed) in message  # in their order
    assert "error:" not in message and "Traceback" not in message  # click's usage error, not ours
    assert list(tmp_path.iterdir()) == []  # rejected before anything ran


@pytest.mark.parametrize("args, allowed, default", CHOICES, ids=CHOICE_IDS)
def test_help_lists_the_choices_and_the_default(tmp_path, args, allowed, default):
    result = run_cli(args[0], "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    option = flat(result.stdout).split(f" {args[-1]} ", 1)[1].split(" --", 1)[0]  # up to the next option
    assert "|".join(allowed) in option
    assert f"[default: {default}]" in option


def test_scales_are_offered_smallest_first():
    assert tuple(SCALES) == ("tiny", "small", "medium", "large")
