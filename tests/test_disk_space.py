"""A full disk, for real: a small tmpfs holds the warehouse. The load stops with one line and exit 6 (where, how much
room it needed, what to do), the published file stays intact, and once there is room again the next load converges.
Mounting needs root; elsewhere the test is skipped with the reason, but never under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.crafted_api import CraftedApi, small_world
from tests.commands import assert_one_line_error, run_cli
from tests.snapshots import snapshot
from tests.warehouses import copy_file, on_engines

SIZE_MB = 24  # room for the warehouse (about 6 MB), its working copy and a little more


@pytest.fixture()
def small_file_system(tmp_path) -> Iterator[Path]:
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount_point)], capture_output=True
    ).returncode == 0
    if not mounted:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the full-disk test: mounting a tmpfs failed (not root?)")
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path, leave_free: int, name: str) -> Path:
    filler = directory / name
    with open(filler, "wb") as handle:
        handle.truncate(0)
        remaining = shutil.disk_usage(directory).free - leave_free
        chunk = b"\0" * 2**20
        while remaining > 0:
            handle.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)
    return filler


@on_engines("duckdb")
def test_a_full_disk_stops_the_load_with_one_line_and_the_next_load_converges(small_file_system, tmp_path,
                                                                              warehouses, prebuilt):
    db = small_file_system / "w.duckdb"
    working = small_file_system / ".w.duckdb.dlt" / "working.duckdb"
    copy_file(prebuilt.crafted(warehouses, "small_world", small_world()), db)  # as a load makes it
    with CraftedApi(small_world()) as api:
        published = snapshot(db)
        size_mb = db.stat().st_size / 2**20
        half = int(db.stat().st_size / 2)
        fillers = [fill(small_file_system, leave_free=half, name="filler")]

        # A load with data to write: the disk fills up during it, or the copy for publishing is refused beforehand.
        during = run_cli("load", "--db", str(db), "--base-url", api.url, "--full-refresh", cwd=tmp_path)
        assert_one_line_error(during, 6, str(small_file_system), "needed", "free", "Free some space")
        assert snapshot(db) == published

        # The working copy has to be made again from the published file: refused before a byte is written.
        working.unlink()
        fillers.append(fill(small_file_system, leave_free=half, name="more filler"))
        used = shutil.disk_usage(small_file_system).used
        before_copy = run_cli("load", "--db", str(db), "--base-url", api.url, "--full-refresh", cwd=tmp_path)
        assert_one_line_error(before_copy, 6, f"about {size_mb:,.0f} MB needed", "working.duckdb")
        assert shutil.disk_usage(small_file_system).used <= used
        assert not list(small_file_system.rglob("*.tmp"))
        assert snapshot(db) == published

        for filler in fillers:
            filler.unlink()
        after = run_cli("load", "--db", str(db), "--base-url", api.url, "--full-refresh", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert snapshot(db) == published
