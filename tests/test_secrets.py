"""The key stays secret in every shape it comes in: from the environment, secrets.toml or a key file (CRLF line ends
stripped), refused unshown when it holds control characters; credentials in the base URL refused; warnings for
secret files others can read. Whatever happens, no secret reaches stdout, stderr, `status` or any file a load
writes (the warehouse, its working folder, dlt's folders)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from simulator.crafted_api import API, CraftedApi, small_world
from tests.commands import SECRET, assert_one_line_error, run_cli

PASSWORD = "hunter2-pass-word"
KEY_FILE_VARIABLE = "SOURCES__BENCHMARKS__API_KEY_FILE"


def assert_nowhere(secret: str, folder: Path, results: list[subprocess.CompletedProcess], db: Path) -> None:
    """Not in any output, not in `status`, not in any file under `folder` except the files meant to hold it."""
    status = run_cli("status", "--db", str(db), cwd=folder, key=None)
    for result in [*results, status]:
        assert secret not in result.stdout + result.stderr
    holders = {"key.txt", "secrets.toml"}
    leaking = [str(p) for p in folder.rglob("*") if p.is_file() and p.name not in holders
               and secret.encode() in p.read_bytes()]
    assert leaking == []


def _key_file(folder: Path, content: str, mode: int = 0o600) -> Path:
    path = folder / "key.txt"
    path.write_bytes(content.encode())
    path.chmod(mode)
    return path


def _secrets_toml(folder: Path, body: str, mode: int = 0o600) -> Path:
    (folder / ".dlt").mkdir(parents=True, exist_ok=True)
    path = folder / ".dlt" / "secrets.toml"
    path.write_text(body)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("where", ["environment", "secrets.toml", "key file"])
def test_a_key_with_crlf_and_spaces_around_it_loads(start_simulator, tmp_path, where):
    sim = start_simulator("tiny", api_key=SECRET)
    raw = f"  {SECRET}\r\n"
    env, key = {}, None
    if where == "environment":
        key = raw
    elif where == "secrets.toml":
        _secrets_toml(tmp_path, '[sources.benchmarks]\napi_key = "  ' + SECRET + '\\r\\n"\n')
    else:
        env = {KEY_FILE_VARIABLE: str(_key_file(tmp_path, raw))}
    db = tmp_path / "w.duckdb"
    first = run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=key, env=env)
    assert first.returncode == 0 and first.stdout.startswith("Loaded"), first.stderr
    second = run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=key, env=env)
    assert second.stdout.startswith("Nothing changed upstream"), second.stderr
    assert "warning" not in first.stderr + second.stderr
    assert_nowhere(SECRET, tmp_path, [first, second], db)


def test_the_key_file_is_read_again_by_every_load(start_simulator, tmp_path):
    """The quiet way replays dlt's settings without dlt: it still reads the file, so a changed key is used."""
    sim = start_simulator("tiny", api_key=SECRET)
    db = tmp_path / "w.duckdb"
    env = {KEY_FILE_VARIABLE: str(_key_file(tmp_path, SECRET + "\n"))}
    assert run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=None, env=env).returncode == 0
    fingerprint = (tmp_path / ".w.duckdb.dlt" / "fingerprint.json").read_text()
    assert SECRET not in fingerprint and "key.txt" in fingerprint, "the record names the file, never the key"
    _key_file(tmp_path, "an-old-revoked-key\n")
    result = run_cli("load", "--db", str(db), "--base-url", sim.url, cwd=tmp_path, key=None, env=env)
    assert_one_line_error(result, 3, "rejected the key")
    assert "an-old-revoked-key" not in result.stderr


@pytest.mark.parametrize("inner", [" ", "\x1b[31m", "\r\n"])
def test_a_key_with_whitespace_or_control_characters_inside_is_refused_unshown(tmp_path, inner):
    key = SECRET[:6] + inner + SECRET[6:]
    with CraftedApi(small_world()) as api:
        results = [run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path, key=key),
                   run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path, key=None,
                           env={KEY_FILE_VARIABLE: str(_key_file(tmp_path, key + "\r\n"))})]
        assert api.requests == [], "nothing is sent with a key that is not one token"
    for result in results:
        assert_one_line_error(result, 3, "not shown")
    for fragment in (SECRET[:6], SECRET[6:]):
        assert_nowhere(fragment, tmp_path, results, tmp_path / "w.duckdb")


def test_a_missing_or_unreadable_key_file_names_the_path(tmp_path):
    with CraftedApi(small_world()) as api:
        for path in (tmp_path / "absent.txt", tmp_path):  # a directory cannot be read as a file, even by root
            result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path,
                             key=None, env={KEY_FILE_VARIABLE: str(path)})
            assert_one_line_error(result, 3, str(path))


def test_a_key_and_a_key_file_together_are_refused(tmp_path):
    with CraftedApi(small_world()) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path,
                         env={KEY_FILE_VARIABLE: str(_key_file(tmp_path, SECRET))})
        assert api.requests == []
    assert_one_line_error(result, 2, "api_key", "api_key_file")


def test_secret_files_others_can_read_are_warned_about_even_with_quiet(start_simulator, tmp_path):
    sim = start_simulator("tiny", api_key=SECRET)
    home = tmp_path / "home"
    key_file = _key_file(tmp_path, SECRET + "\n", mode=0o644)
    local = _secrets_toml(tmp_path, "[sources.benchmarks]\nworkers = 2\n", mode=0o640)
    global_file = _secrets_toml(home, "[sources.benchmarks]\nrequest_timeout = 30\n", mode=0o604)
    result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", sim.url, "--quiet", cwd=tmp_path,
                     key=None, env={KEY_FILE_VARIABLE: str(key_file), "HOME": str(home)})
    assert result.returncode == 0 and result.stdout == "", result.stderr
    warnings = result.stderr.splitlines()
    for path in (key_file, local, global_file):
        assert any(line.startswith("warning: ") and str(path) in line for line in warnings), (path, warnings)
    assert len(warnings) == 3
    for path in (key_file, local, global_file):
        path.chmod(0o600)
    again = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", sim.url, "--quiet", cwd=tmp_path,
                    key=None, env={KEY_FILE_VARIABLE: str(key_file), "HOME": str(home)})
    assert again.returncode == 0 and again.stderr == ""


@pytest.mark.parametrize("where", ["option", "environment"])
def test_credentials_in_the_base_url_are_refused_unshown(start_simulator, tmp_path, where):
    sim = start_simulator("tiny")
    url = sim.url.replace("http://", f"http://reader:{PASSWORD}@")
    db = tmp_path / "w.duckdb"
    arguments = ["--base-url", url] if where == "option" else []
    env = {} if where == "option" else {"SOURCES__BENCHMARKS__BASE_URL": url}
    results = [run_cli("load", "--db", str(db), *arguments, cwd=tmp_path, key="demo-key", env=env)
               for _ in range(2)]
    for result in results:
        assert_one_line_error(result, 2, "user name or password")
    assert not sim.requests, "nothing is sent"
    assert_nowhere(PASSWORD, tmp_path, results, db)


def test_a_key_quoted_back_in_an_error_is_redacted_everywhere(tmp_path):
    """Whatever library or server puts the key into an error text, it is taken out before it is printed or stored."""
    echo = (401, {"error": {"message": f"Unknown key {SECRET}", "code": "UNAUTHORIZED"}}, None)
    with CraftedApi(small_world(**{f"{API}/types": echo})) as api:
        result = run_cli("load", "--db", str(tmp_path / "w.duckdb"), "--base-url", api.url, cwd=tmp_path)
    assert_one_line_error(result, 3, "Unknown key ***")
    status = run_cli("status", "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    attempt = (tmp_path / ".w.duckdb.dlt" / "last_attempt.json").read_text()
    assert SECRET not in status.stdout + status.stderr + attempt and "Unknown key ***" in attempt
