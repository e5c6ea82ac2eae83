"""A throwaway PostgreSQL server for the tests and the perf harness: Debian's postgresql package, a cluster made by
initdb in a temporary directory and started by pg_ctl on a free loopback port (as the `postgres` user when run as
root), with a password, stopped and deleted at the end. A real server, not a stand-in."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERUSER = "postgres"


class PostgresUnavailable(Exception):
    """Debian's postgresql package is not installed, or the cluster would not start; the message says why."""


def binaries() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian keeps them out of PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise PostgresUnavailable("no initdb: install Debian's postgresql package (.ci/run does)")
    return Path(initdb).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(eq=False)  # one server is one server: hashable by identity
class ThrowawayPostgres:
    directory: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_hex(12))

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> ThrowawayPostgres:
        bin_dir = binaries()
        self.directory.mkdir(parents=True, exist_ok=True)
        password_file = self.directory / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.directory, SUPERUSER)
            shutil.chown(password_file, SUPERUSER)
        self._run(f"{bin_dir / 'initdb'} -D {self.data_dir} -U {SUPERUSER} --auth=scram-sha-256 "
                  f"--pwfile={password_file} --no-sync --encoding=UTF8 --locale=C")
        password_file.unlink()
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(f"{bin_dir / 'pg_ctl'} -D {self.data_dir} -l {self.directory / 'server.log'} -w -t 60 "
                  f"-o '{options}' start")
        return self

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run(f"{binaries() / 'pg_ctl'} -D {self.data_dir} -m immediate -w stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, command: str, check: bool = True) -> None:
        argv = ["su", SUPERUSER, "-s", "/bin/sh", "-c", command] if os.geteuid() == 0 else ["sh", "-c", command]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd="/")
        if check and result.returncode != 0:
            log = self.directory / "server.log"
            detail = log.read_text()[-1500:] if log.exists() else ""
            raise PostgresUnavailable(f"{command.split()[0]} failed: {result.stderr.strip()[-1500:]} {detail}")

    def create_database(self, template: str | None = None) -> str:
        """A new database with a unique name, empty or a copy of `template` (which no session may be using);
        returns the name."""
        name = f"warehouse_{uuid.uuid4().hex[:12]}"
        copying = f' template "{template}"' if template else ""
        with self.connect() as connection:
            connection.cursor().execute(f'create database "{name}"{copying}')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as connection:
            connection.cursor().execute(f'drop database if exists "{name}" with (force)')

    @contextmanager
    def connect(self, database: str = "postgres") -> Iterator[Any]:
        """A psycopg2 connection in autocommit mode."""
        import psycopg2

        connection = psycopg2.connect(self.url(database))
        connection.autocommit = True
        try:
            yield connection
        finally:
            connection.close()
