"""The command line's options as typer declares them: choices, and the README's usage lines that list them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from pipelines.cli.app import app
from pipelines.readers.query import EXPORT_FORMATS, QUERY_FORMATS
from simulator.scales import SCALES
from tests.commands import STAGE_LINE, run_cli
from tests.crafted_api import CraftedApi, small_world


def flat(text: str) -> str:
    """Text without rich's panel borders and line wrapping, so that a message reads as one line."""
    return " ".join(text.replace("│", " ").split())


CHOICES = [
    (("query", "select 1", "--format"), QUERY_FORMATS, "table"),
    (("export", "--out", "out", "--format"), EXPORT_FORMATS, "parquet"),
    (("query", "select 1", "--csv-formulas"), ("escape", "keep"), "escape"),
    (("demo", "--scale"), tuple(SCALES), "small"),
    (("simulate", "--scale"), tuple(SCALES), "small"),
]
CHOICE_IDS = ["query-format", "export-format", "csv-formulas", "demo-scale", "simulate-scale"]


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


# dlt's log lines, e.g. "2026-11-26 18:53:34,821|[INFO]|6623|140662712241024|dlt|load.py|run:876|Running file loading"
DLT_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\|\[(?P<level>[A-Z]+)\]\|\d+\|\d+\|dlt\|")


@pytest.fixture(autouse=True)
def no_runtime_settings_in_the_environment(monkeypatch):
    for name in [name for name in os.environ if name.startswith("RUNTIME__")]:
        monkeypatch.delenv(name)


def load_quietly(tmp_path, env: dict | None = None) -> subprocess.CompletedProcess:
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, "--quiet", cwd=tmp_path,
                         env=env)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("where", ["config.toml", "secrets.toml", "environment"])
def test_a_log_level_the_user_configured_applies(tmp_path, where):
    env = None
    if where == "environment":
        env = {"RUNTIME__LOG_LEVEL": "INFO"}
    else:
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / where).write_text('[runtime]\nlog_level = "INFO"\n')
        (tmp_path / ".dlt" / where).chmod(0o600)  # a secrets.toml others can read gets a warning line (test_secrets)
    lines = load_quietly(tmp_path, env).stderr.splitlines()
    assert lines and all(DLT_LOG_LINE.match(line) for line in lines), lines[:5]
    messages = [line.rsplit("|", 1)[1] for line in lines if DLT_LOG_LINE.match(line).group("level") == "INFO"]
    assert "Running file normalizing" in messages and "Running file loading" in messages


def test_without_a_configured_log_level_a_load_logs_only_its_stages(tmp_path):
    assert load_quietly(tmp_path).stderr == ""
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, "--full-refresh",
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stages = [STAGE_LINE.match(line).group(0).split()[-1] for line in result.stderr.splitlines()]
    assert stages == ["extract", "normalize", "load", "commit", "views", "publish"]


RESOLVED_RUNTIME = """
import dlt
from pipelines.load.dlt_runtime import use_dlt_configuration
use_dlt_configuration()
runtime = dlt.current.run_context().runtime_config
print(runtime.log_level, runtime.dlthub_telemetry)
"""


@pytest.mark.parametrize(
    "config_toml, env, expected",
    [
        (None, {}, "CRITICAL False"),
        ('[runtime]\nlog_level = "INFO"\ndlthub_telemetry = true\n', {}, "INFO True"),
        ('[runtime]\nlog_level = "INFO"\n', {"RUNTIME__LOG_LEVEL": "DEBUG"}, "DEBUG False"),
        (None, {"RUNTIME__DLTHUB_TELEMETRY": "true"}, "CRITICAL True"),
    ],
    ids=["nothing-configured", "config-toml", "environment-beats-toml", "telemetry-from-environment"],
)
def test_our_dlt_runtime_defaults_apply_only_where_the_user_configured_nothing(tmp_path, config_toml, env, expected):
    if config_toml:
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "config.toml").write_text(config_toml)
    result = subprocess.run([sys.executable, "-c", RESOLVED_RUNTIME], cwd=tmp_path, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected.split()


README = Path(__file__).resolve().parent.parent / "README.md"


def readme_code_lines() -> list[str]:
    """The lines inside the README's fenced code blocks."""
    lines, inside = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside:
            lines.append(line)
    return lines


def long_options(command: Any) -> list[str]:
    """The command's --options as a user types them (not --help, hidden ones, or the --no-... of a flag)."""
    return [
        opt
        for param in command.params
        if param.param_type_name == "option" and not getattr(param, "hidden", False)
        for opt in param.opts
        if opt.startswith("--")
    ]


COMMANDS = typer.main.get_command(app).commands


def test_every_command_is_checked():
    assert {"load", "demo", "query", "export", "status", "report", "simulate"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_readme_has_a_usage_line_naming_every_option(name):
    options = long_options(COMMANDS[name])
    usage_lines = [line for line in readme_code_lines() if re.match(rf"benchmarks-etl {name}(\s|$)", line)]
    assert usage_lines, f"README.md has no line starting `benchmarks-etl {name}` in a code block"

    def missing(line: str) -> list[str]:
        return [option for option in options if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", line)]

    best = min(usage_lines, key=lambda line: len(missing(line)))
    assert missing(best) == [], f"README.md's usage line of {name} lacks {missing(best)}: {best}"
