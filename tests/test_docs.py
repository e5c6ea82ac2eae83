"""Docs that cannot drift: the generated pages match the code, every link and every cited test exists, every option
is in the command reference, and the README stays a front door."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from cogapp import Cog

from pipelines.api.configuration import SourceSettings
from pipelines.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = [DOCS / "commands.md", DOCS / "views.md"]
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 300

COMMANDS = typer.main.get_command(app).commands

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)
CITED_FILE = re.compile(r"(?<![\w/])((?:tests|pipelines|perf|simulator)/[\w/.-]+\.py)((?:::\w+)*)")
CITED_TEST_NAME = re.compile(r"`(test_\w+)")


@pytest.mark.parametrize("page", GENERATED, ids=lambda page: page.name)
def test_generated_docs_match_the_code(page):
    output = io.StringIO()
    cog = Cog()
    cog.set_output(stdout=output, stderr=output)
    status = cog.main(["cog", "--check", "--diff", "--check-fail-msg", "run `make docs`", str(page)])
    assert status == 0, output.getvalue()


def prose(page: Path) -> str:
    """The page without its fenced code blocks and HTML comments (cog's code lives in those)."""
    text = re.sub(r"<!--.*?-->", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_reaches_a_file_and_heading(page):
    broken = [target for target in LINK.findall(prose(page))
              if not re.match(r"[a-z]+:", target) and not reaches(page, target)]
    assert broken == [], f"{page.name}: links to nothing: {broken}"


def reaches(page: Path, target: str) -> bool:
    """A relative link reaches an existing file, and a heading of that page when it names one."""
    path, _, fragment = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    if not linked.exists():
        return False
    return not fragment or linked.suffix != ".md" or fragment in {anchor(h) for h in HEADING.findall(prose(linked))}


def defined_in_tests(name: str) -> bool:
    pattern = re.compile(rf"^\s*def {re.escape(name)}\(", re.MULTILINE)
    return any(pattern.search(path.read_text(encoding="utf-8")) for path in (ROOT / "tests").glob("*.py"))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_cited_file_and_test_exists(page):
    """A page that names `tests/x.py::test_y` or a module keeps naming something real after a rename."""
    text = page.read_text(encoding="utf-8")
    missing = []
    for path, names in CITED_FILE.findall(text):
        if not (ROOT / path).exists():
            missing.append(path)
            continue
        source = (ROOT / path).read_text(encoding="utf-8")
        missing += [f"{path}::{name}" for name in names.split("::")[1:]
                    if not re.search(rf"^\s*(def|class) {name}\b", source, re.MULTILINE)]
    assert missing == [], f"{page.name} names what does not exist: {missing}"


def test_every_test_the_guarantees_name_exists():
    """The last column of docs/guarantees.md names the tests that prove each promise."""
    rows = [line for line in (DOCS / "guarantees.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| promise")]
    assert len(rows) >= 30
    names = {name for row in rows for name in CITED_TEST_NAME.findall(row.rsplit(" | ", 1)[-1])}
    assert names
    assert sorted(name for name in names if not defined_in_tests(name)) == []


def long_options(command: Any) -> list[str]:
    """The command's --options as a user types them (not --help, hidden ones, or the --no-... of a flag)."""
    return [
        opt
        for param in command.params
        if param.param_type_name == "option" and not getattr(param, "hidden", False)
        for opt in param.opts
        if opt.startswith("--")
    ]


def test_every_command_is_checked():
    assert {"load", "demo", "query", "export", "status", "report", "simulate"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_command_reference_names_every_option(name):
    reference = (DOCS / "commands.md").read_text(encoding="utf-8")
    section = re.search(rf"^## {name}\n(.*?)(?=^## |\Z)", reference, re.DOTALL | re.MULTILINE)
    assert section, f"docs/commands.md has no section `## {name}`"
    assert f"Usage: benchmarks-etl {name} " in section.group(1)
    missing = [option for option in long_options(COMMANDS[name])
               if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section.group(1))]
    assert missing == [], f"docs/commands.md's section of {name} lacks {missing}"


def test_the_readme_stays_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move the detail into docs/"


def test_the_readme_lists_every_source_setting():
    """Its configuration table has a row per field of SourceSettings, with its environment variable."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in SourceSettings().get_resolvable_fields()
               if f"| `sources.benchmarks.{name}`" not in readme
               or f"`SOURCES__BENCHMARKS__{name.upper()}`" not in readme]
    assert missing == [], f"README.md's configuration table lacks {missing}"
