"""One load at a time per lake, from any host that shares it: a lease, a small file in the lake saying which load
holds the lake and until when (object stores have no `flock`).

fsspec offers no atomic create-if-absent on every store, so a contender writes its own lease under a name of its own
and then lists the folder: when another unexpired lease is there, it removes its own and gives up (LoadAlreadyRunning,
exit 75). Of two contenders, the one that wrote last sees the other's file in its listing (local folders, S3, GCS and
Azure list what was written before the listing began): at worst both give up, never do both load. A lease whose
holder stopped renewing it (killed, its host gone) expires after `ttl` seconds; the next contender removes it.

The holder renews its lease every ttl/3 from a daemon thread. A renewal that would come too late (less than
ttl/6 left: the process was paused, the lake was slow) does not renew: the lease is lost, since another load may
have taken over. Before the publish the holder checks its fence (`check`): its lease renewed and no other lease
standing, else LoadLockLost and nothing is published.

Expiry times are the writer's wall clock, compared with the reader's: the hosts' clocks must agree to well within
ttl/6 (20 s with the default ttl of 120 s; NTP keeps them within milliseconds).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.warehouse.file_lock import LoadAlreadyRunning, LoadLockLost
from pipelines.warehouse.spark.lake import Lake

LEASES = ("benchmarks_state", "leases")
SETTLE_SECONDS = 5.0  # at the fence: how long a contender that saw this lease may take to remove its own


@dataclass(frozen=True)
class Holder:
    """What a lease file holds: who loads, since when, and until when unless renewed (seconds since the epoch)."""

    host: str
    pid: int
    started_at: str
    expires_at: float

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}, its lease valid until {_iso(self.expires_at)} unless renewed"


class Lease:
    """This load's lease on `lake`: `acquire`, then `check` before publishing, `release` at the end."""

    def __init__(self, lake: Lake, ttl: float, location: str, clock: Callable[[], float] = time.time) -> None:
        self.lake, self.ttl, self.location, self.clock = lake, float(ttl), location, clock
        self.host = socket.gethostname()
        self.started_ns = time.time_ns()  # with the name: this load's key in the lake's record of attempts
        self.name = f"{uuid.uuid4().hex}.json"
        self.folder = lake.path(*LEASES)
        self.path = lake.path(*LEASES, self.name)
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._expires_at = 0.0
        self._lost: str | None = None  # why, once lost
        self._guard = threading.Lock()  # one renewal at a time (the thread's, the fence's)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def margin(self) -> float:
        """Below this much time left, a lease is not renewed: the write might land after it expired."""
        return self.ttl / 6

    def acquire(self) -> None:
        """Hold the lease, renewed from a daemon thread; LoadAlreadyRunning when another load holds one."""
        self._write()
        try:
            others = self.others_standing()
        except BaseException:
            with suppress(OSError):  # not left to block every load until it expires
                self.lake.remove(self.path)
            raise
        if others:
            self.lake.remove(self.path)
            raise LoadAlreadyRunning(f"Another load into {self.location} is running ({others[0].describe()}); this "
                                     "one exits without changes.")
        self._renewer = threading.Thread(target=self._renew_until_released, name="lake-lease", daemon=True)
        self._renewer.start()

    def others_standing(self) -> list[Holder]:
        """The other loads' unexpired leases, oldest first; expired ones (their holder died) removed on the way."""
        now, standing = self.clock(), []
        for name, record in self.lake.json_records(self.folder).items():
            holder = _holder(record)
            if name == self.name or holder is None:
                continue
            if holder.expired(now):
                self.lake.remove(f"{self.folder}/{name}")
            else:
                standing.append(holder)
        return sorted(standing, key=lambda holder: holder.started_at)

    def renew(self) -> None:
        """Extend the lease by `ttl`, unless it is lost: too little time left to renew safely, or its file gone
        (another load removed it as expired)."""
        with self._guard:
            if self._lost is not None or self._stop.is_set():
                return
            if self.clock() + self.margin >= self._expires_at:
                self._lost = f"its lease ran out at {_iso(self._expires_at)} before it was renewed"
            elif not self._still_there():
                self._lost = "its lease was removed: another load found it expired"
            else:
                self._write()

    def check(self) -> None:
        """The fence, before anything readers see changes: LoadLockLost unless this load still holds the lake."""
        self.renew()
        if self._lost is None:
            others = self._others_after_settling()
            if others:
                self._lost = f"another load holds a lease ({others[0].describe()})"
        if self._lost is not None:
            raise LoadLockLost(f"This load lost its lock on the lake at {self.location} ({self._lost}), so another "
                               "load may be running; it stopped without publishing. Run it again.")

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with suppress(OSError):  # a lease that cannot be removed expires by itself
            self.lake.remove(self.path)  # its name is this load's alone: removing it never frees another's lease

    def _still_there(self) -> bool:
        self.lake.fs.invalidate_cache(self.folder)  # a listing cached on an object store would still show it
        return self.lake.fs.exists(self.path)

    def _others_after_settling(self) -> list[Holder]:
        """Other leases that stay: a contender that saw this one removes its own within moments; a load that took
        over does not."""
        deadline = time.monotonic() + min(SETTLE_SECONDS, self.margin)
        others = self.others_standing()
        while others and time.monotonic() < deadline:
            time.sleep(0.1)
            others = self.others_standing()
        return others

    def _renew_until_released(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.renew()
            except Exception:  # noqa: BLE001 - the lake failed this once: the next renewal tries again, expiry decides
                continue

    def _write(self) -> None:
        self._expires_at = self.clock() + self.ttl
        holder = Holder(self.host, os.getpid(), self._started_at, self._expires_at)
        self.lake.write_json(self.path, asdict(holder))


def is_standing(lake: Lake, name: str, now: float) -> bool:
    """Whether the lease `name` is in the lake and unexpired: its load is still running (for `status`)."""
    holder = _holder(lake.read_json(lake.path(*LEASES, name)))  # None: gone (released, or removed as expired)
    return holder is not None and not holder.expired(now)


def _holder(record: Any) -> Holder | None:
    try:
        return Holder(str(record["host"]), int(record["pid"]), str(record["started_at"]),
                      float(record["expires_at"]))
    except (KeyError, TypeError, ValueError):
        return None  # not a lease of ours


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
