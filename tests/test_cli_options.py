"""The command line's options as typer declares them: choices, defaults and the logging they switch on.
(docs/commands.md, generated from --help, is checked in tests/test_docs.py.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from pipelines.cli.options import SIMULATOR_SCALES
from pipelines.readers.query import EXPORT_FORMATS, QUERY_FORMATS
from simulator.crafted_api import CraftedApi, small_world
from simulator.scales import SCALES
from tests.commands import STAGE_LINE, run_cli


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
    assert tuple(SCALES) == SIMULATOR_SCALES


def test_the_command_line_starts_without_the_simulator():
    modules = "import sys, pipelines.cli.app; print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulator'))"
    result = subprocess.run([sys.executable, "-c", modules], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


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



def test_no_help_text_is_eaten_as_rich_markup():
    """typer renders help through rich on a terminal: `[section]` in a help text would vanish as a markup tag."""
    import typer.main
    from rich.text import Text

    from pipelines.cli.app import app

    group = typer.main.get_command(app)
    texts = [group.help or ""]
    for command in group.commands.values():
        texts += [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
    assert len(texts) > 20
    for text in texts:
        assert Text.from_markup(text).plain == text, text
