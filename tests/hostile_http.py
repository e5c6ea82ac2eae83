"""Real hostile HTTP parts on 127.0.0.1: an API that redirects, drips, stalls, bombs and floods; a CONNECT proxy;
a private CA with a server certificate for localhost / 127.0.0.1 (made with the openssl command line).

`HostileApi(routes)` answers like simulator/crafted_api.CraftedApi (path with query -> JSON, bytes or (status, body,
content type)), and a route may also be a behaviour: a function of the request handler that writes the answer.
Every request is recorded with its headers, so a test can tell whether the API key reached a server.
"""

from __future__ import annotations

import gzip
import select
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from simulator.crafted_api import LoopbackServer, QuietHandler

Behaviour = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class HostileApi(LoopbackServer):
    """Serves `routes`; `tls` = (certificate, key) serves https as localhost; `gzip_all` compresses every JSON
    answer. `seen` lists (path, headers) of every request."""

    def __init__(self, routes: dict[str, Any], *, tls: tuple[Path, Path] | None = None,
                 gzip_all: bool = False) -> None:
        self.routes, self.gzip_all = routes, gzip_all
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        port = self.server.server_address[1]
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"
        self._serve_in_background()

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        super().__exit__(*exc)

    def keys_seen(self) -> list[str | None]:
        """The X-Api-Key header of every request received (None where there was none)."""
        return [headers.get("x-api-key") for _, headers in self.seen]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                api.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.stopping = api.stopping
                route = api.routes.get(self.path)
                if callable(route):
                    route(self)
                    return
                status, body, content_type = _route_answer(route)
                data = body if isinstance(body, bytes) else orjson.dumps(body)
                send(self, status, gzip.compress(data, 1) if api.gzip_all else data, content_type or "application/json",
                     {"Content-Encoding": "gzip"} if api.gzip_all else None)

        return Handler


def _route_answer(route: Any) -> tuple[int, Any, str | None]:
    if route is None:
        return 404, {"error": {"message": "Not found", "code": "NOT_FOUND"}}, None
    if isinstance(route, tuple):
        return route
    return 200, route, None


def send(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str = "application/json",
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


# --- Behaviours ---

def redirect(location: str, status: int = 302) -> Behaviour:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        send(handler, status, b"", "text/plain", {"Location": location})
    return answer


def answer_json(status: int, body: Any) -> Behaviour:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        send(handler, status, orjson.dumps(body))
    return answer


def encoded(data: bytes, encoding: str = "gzip", status: int = 200) -> Behaviour:
    """`data` sent as it is, labelled with `encoding` (so pass it compressed)."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        send(handler, status, data, "application/json", {"Content-Encoding": encoding})
    return answer


def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip body of about inflated_mib KiB that inflates to `inflated_mib` MiB of JSON-ish blanks: one member
    repeated (a multi-member gzip stream is one valid body)."""
    member = gzip.compress(b" " * 2**20, 9)
    return gzip.compress(b'{"id": 10, "testCases": [', 9) + member * inflated_mib


def chunked(pieces: Iterable[bytes], status: int = 200, content_type: str = "application/json") -> Behaviour:
    """Transfer-Encoding: chunked, no Content-Length: the size is known only by reading. Ends quietly when the
    client hangs up."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            for piece in pieces:
                if handler.stopping.is_set():
                    return
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
    return answer


def endless(piece: bytes) -> Iterable[bytes]:
    while True:
        yield piece


def drip(data: bytes, interval: float) -> Behaviour:
    """Headers at once (with the true Content-Length), then the body one byte every `interval` seconds."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        _drip(handler, data, interval)
    return answer


def drip_headers(data: bytes, interval: float) -> Behaviour:
    """The status line and headers (padded with a long one) one byte every `interval` seconds, then `data`."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"p" * 2000
                + b"\r\nContent-Length: %d\r\n\r\n" % len(data))
        if _drip(handler, head, interval):
            with suppress(OSError):
                handler.wfile.write(data)
    return answer


def _drip(handler: BaseHTTPRequestHandler, data: bytes, interval: float) -> bool:
    """Write `data` one byte every `interval` seconds; False when the server stops or the client hung up first."""
    try:
        for index in range(len(data)):
            handler.wfile.write(data[index:index + 1])
            handler.wfile.flush()
            if handler.stopping.wait(interval):
                return False
    except OSError:
        return False
    return True


def stall(data: bytes) -> Behaviour:
    """Headers announcing `data`, then nothing until the server stops."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.flush()
        handler.stopping.wait(60)
    return answer


# --- An HTTPS proxy (CONNECT) ---

class ConnectProxy(LoopbackServer):
    """A forward proxy on 127.0.0.1 that tunnels CONNECT to loopback targets only. `tunnels` lists the targets;
    `forwarded` lists (request line, whether it carried X-Api-Key) of plain-http requests, answered 502 unserved."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self.forwarded: list[tuple[str, bool]] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = self.rfile.readline(65536).decode("latin-1").strip()
                headers = []
                while (line := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
                    headers.append(line.decode("latin-1").lower())
                method, _, rest = head.partition(" ")
                target = rest.split(" ")[0]
                if method != "CONNECT":
                    proxy.forwarded.append((head, any(h.startswith("x-api-key:") for h in headers)))
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                host, _, port = target.rpartition(":")
                if host not in ("localhost", "127.0.0.1"):
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                proxy.tunnels.append(target)
                with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as upstream:
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self.wfile.flush()
                    _pipe(self.connection, upstream)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._serve_in_background()


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until one side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], 30)
        if not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


# --- A private CA ---

def make_private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key): the server's for localhost and 127.0.0.1, signed by a CA
    that no trust store knows."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, request, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                          "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl = ["openssl"]
    _run(openssl + ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert, "-days",
                    "2", "-subj", "/CN=benchmarks-warehouse test CA"])
    _run(openssl + ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", "/CN=localhost"])
    _run(openssl + ["x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                    "-days", "2", "-extfile", extensions])
    return ca_cert, cert, key


def _run(command: list[Any]) -> None:
    subprocess.run([str(part) for part in command], check=True, capture_output=True, timeout=60)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
