"""request_timeout as one clock per attempt: connect, headers and the complete body.

urllib3's own timeouts only bound the gaps between two reads, so a server that drips its headers or body one byte a
second never times out. Here each attempt has a Deadline whose watchdog, when it passes, shuts down the sockets the
attempt uses (guarded from the moment the request is sent), which ends a read blocked in any thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter


class Deadline:
    """The clock of one attempt: request_timeout from its start, for connect, headers and the complete body.

    At the deadline a watchdog shuts down the sockets guarded so far (the connection's, from the moment the request
    is sent): that ends a read blocked in any thread, however slowly the server drips its headers or body."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.fired = False
        self._lock = threading.Lock()
        self._stops: list[Callable[[], object]] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def guard(self, stop: Callable[[], object]) -> None:
        """Call `stop` at the deadline (at once if it has passed)."""
        with self._lock:
            if not self.fired:
                self._stops.append(stop)
                return
        with contextlib.suppress(Exception):
            stop()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired, stops = True, list(self._stops)
        for stop in stops:
            with contextlib.suppress(Exception):  # already closed: nothing left to stop
                stop()


_attempt = threading.local()  # the Deadline of the attempt this thread is making


class _Guarded:
    """Connection mixin: the socket is guarded by the current attempt's deadline before the answer is awaited."""

    sock: socket.socket | None

    def getresponse(self) -> Any:
        deadline: Deadline | None = getattr(_attempt, "deadline", None)
        sock = self.sock
        if deadline is not None and sock is not None:
            deadline.guard(lambda: socket.socket.shutdown(sock, socket.SHUT_RDWR))
        return super().getresponse()  # type: ignore[misc]


class _HTTPConnection(_Guarded, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Guarded, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_GUARDED_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlinedAdapter(HTTPAdapter):
    """requests' adapter whose connections (direct or through an http(s) proxy) answer to the attempt's deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _GUARDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _GUARDED_POOLS
        return manager

    def close(self) -> None:
        """Close every pooled connection now: urllib3 2's `PoolManager.clear` (what requests' `close` calls) only
        forgets its pools, whose sockets then stay open until the garbage collector finds them."""
        for manager in (self.poolmanager, *self.proxy_manager.values()):
            for key in manager.pools.keys():  # noqa: SIM118 - the container refuses plain iteration
                pool = manager.pools.get(key)
                if pool is not None:
                    pool.close()
        super().close()


@contextlib.contextmanager
def attempt_deadline(seconds: float) -> Iterator[Deadline]:
    """The Deadline of one attempt, known to the connections this thread uses meanwhile."""
    deadline = _attempt.deadline = Deadline(seconds)
    try:
        yield deadline
    finally:
        deadline.cancel()
        _attempt.deadline = None
