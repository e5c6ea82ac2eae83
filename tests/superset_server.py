"""A Superset web server for one test module, and a client of its REST API (tests/test_superset.py).

Superset keeps its own metadata (users, databases, datasets, charts) in a database of its own. Here that is a SQLite
file in a temporary folder, thrown away with it. `superset db upgrade`, `fab create-admin` and `init` take about a
minute, and their result does not depend on the session, so it is made once per install into the install's folder
(`metadata-template.db`) and copied: the module's store starts from a fresh copy (milliseconds), with a SECRET_KEY
of its own (nothing in the template is encrypted with it: no database is registered yet). PostgreSQL as the store
would cost that minute in every session (the session's server is new each time), or a template database kept
somewhere across sessions. SQLite is enough because the tests never hold two datasets of the same name at once:
with SQLite, Superset allows one dataset per table name across databases (apache/superset#33134), so each engine's
bundle is deleted before the next engine's is imported (tests/superset_bundle.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from tests.readers import ReaderUnavailable, cache_lock

ADMIN = ("admin", "admin-password-for-tests")
STARTUP_TIMEOUT = 120  # seconds for the web server to answer /health
CLI_TIMEOUT = 600  # seconds for `superset db upgrade` / `init` (first run after an install)
ROW_LIMIT = 1_000_000  # SQL Lab's and the charts' row limits, lifted above any view of the tests' worlds
CONFIG = """\
SECRET_KEY = {secret!r}
SQLALCHEMY_DATABASE_URI = {metadata!r}
SQL_MAX_ROW = {rows}
DISPLAY_MAX_ROW = {rows}
ROW_LIMIT = {rows}
SAMPLES_ROW_LIMIT = 1000
SQLLAB_TIMEOUT = 120
SUPERSET_WEBSERVER_TIMEOUT = 120
"""


class SupersetServer:
    """`superset` from `bin_dir`, its config and metadata under `folder`: `start()`, then `client()` (which waits
    until the server answers, so the caller can prepare its warehouses meanwhile), then `stop()`."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin_dir, self.folder = bin_dir, folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = folder / "superset.log"

    def start(self) -> SupersetServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._template(), self.folder / "superset.db")
        self._write_config(self.folder / "superset_config.py", self.folder / "superset.db")
        command = [str(self.bin_dir / "gunicorn"), "--workers", "1", "--worker-class", "gthread", "--threads", "8",
                   "--timeout", "120", "--bind", f"127.0.0.1:{self.port}", "superset.app:create_app()"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=self.folder, env=self._env(self.folder), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self) -> None:
        """SIGINT: gunicorn's quick shutdown (SIGTERM would wait up to 30 s for requests in flight)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self) -> SupersetClient:
        self._wait_for_health()
        return SupersetClient(self.url, *ADMIN)

    def _template(self) -> Path:
        """The metadata store as `db upgrade`, `fab create-admin` and `init` leave it, made once per install."""
        template = self.bin_dir.parent / "metadata-template.db"
        with cache_lock(self.bin_dir.parent):
            if not template.exists():
                work = self.folder / "template"
                work.mkdir(parents=True, exist_ok=True)
                self._write_config(work / "superset_config.py", work / "superset.db")
                user, password = ADMIN
                for arguments in (["db", "upgrade"],
                                  ["fab", "create-admin", "--username", user, "--password", password,
                                   "--firstname", "Test", "--lastname", "Admin", "--email", "admin@example.com"],
                                  ["init"]):
                    self._cli(arguments, work)
                shutil.copyfile(work / "superset.db", template.with_suffix(".tmp"))
                template.with_suffix(".tmp").replace(template)
        return template

    def _cli(self, arguments: list[str], folder: Path) -> None:
        done = subprocess.run([str(self.bin_dir / "superset"), *arguments], cwd=folder, env=self._env(folder),
                              capture_output=True, text=True, timeout=CLI_TIMEOUT)
        if done.returncode != 0:
            tail = "\n".join((done.stderr + done.stdout).strip().splitlines()[-15:])
            raise ReaderUnavailable(f"superset {' '.join(arguments[:2])} failed (exit {done.returncode}): {tail}")

    def _write_config(self, path: Path, metadata: Path) -> None:
        path.write_text(CONFIG.format(secret=secrets.token_urlsafe(42), metadata=f"sqlite:///{metadata}",
                                      rows=ROW_LIMIT))

    def _env(self, folder: Path) -> dict[str, str]:
        return {**os.environ, "SUPERSET_CONFIG_PATH": str(folder / "superset_config.py"), "FLASK_APP": "superset",
                "SUPERSET_HOME": str(folder), "PYTHONUNBUFFERED": "1"}

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"Superset exited ({self.process.returncode}): {self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Superset did not answer /health in {STARTUP_TIMEOUT} s: {self.log.read_text()[-3000:]}")


class SupersetClient:
    """The REST API as a logged-in user: a bearer token and the CSRF token its writes need."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url, self.session = url, requests.Session()
        login = self.session.post(f"{url}/api/v1/security/login", timeout=30,
                                  json={"username": user, "password": password, "provider": "db", "refresh": True})
        login.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        csrf = self.session.get(f"{url}/api/v1/security/csrf_token/", timeout=30)
        csrf.raise_for_status()
        self.session.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": url})

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.url}{path}", params=params, timeout=120)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:2000]}"
        return response.json()

    def post(self, path: str, expect: int | None = None, **kwargs: Any) -> requests.Response:
        """The response; with `expect`, asserts its status code first."""
        response = self.session.post(f"{self.url}{path}", timeout=300, **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"POST {path}: {response.status_code} {response.text[:2000]}"
        return response


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
