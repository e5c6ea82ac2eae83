"""Reading one answer's body: streamed in chunks against a size cap that counts decompressed bytes, inflated by us
with a bound on every step (so a gzip bomb never grows memory past the cap), within the attempt's deadline."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import requests
import urllib3

from pipelines.api import settings
from pipelines.api.http_deadline import Deadline
from pipelines.errors import ApiDataError

# Accept-Encoding we send: what _inflater can undo (requests would also offer br or zstd when their modules exist)
ACCEPTED_ENCODINGS = "gzip, deflate"


@dataclass(frozen=True)
class Answer:
    """A complete answer: its status and its whole body (within the cap)."""

    status: int
    content: bytes
    content_type: str
    reason: str
    retry_after: str | None = None


class TransientFailure(Exception):
    """An attempt that may succeed when repeated: `kind` is "timeout", "connection" or "status" (with `answer`)."""

    def __init__(self, kind: str, cause: str, answer: Answer | None = None) -> None:
        super().__init__(cause)
        self.kind, self.cause, self.answer = kind, cause, answer


def read_capped(response: requests.Response, endpoint: str, limit: int, deadline: Deadline, *,
                truncate: bool = False) -> bytes:
    """The body, decompressed, read in chunks until `limit` bytes: past it ApiDataError (or, with `truncate`, the
    first `limit` bytes). A deadline that passes makes it a TransientFailure."""
    length = response.headers.get("Content-Length", "")
    if not truncate and length.isdigit() and int(length) > limit:
        response.close()
        raise _too_large(endpoint, limit, f"Content-Length: {int(length):,} bytes")
    buffer = io.BytesIO()
    inflate = _inflater(response, endpoint)
    deadline.guard(response.raw.shutdown)
    try:
        while True:
            compressed = response.raw.read1(settings.BODY_CHUNK_BYTES, decode_content=False)
            chunk = inflate(compressed, limit - buffer.tell())
            if not compressed and not chunk:
                break
            room = limit - buffer.tell()
            if len(chunk) > room:
                if truncate:
                    buffer.write(chunk[:room])
                    break
                raise _too_large(endpoint, limit, "more than that" + (" once decompressed" if _encoded(response)
                                                                       else ""))
            buffer.write(chunk)
            if deadline.remaining() <= 0:
                raise TransientFailure("timeout", "the body was still arriving")
    except (urllib3.exceptions.DecodeError, zlib.error) as exc:
        raise ApiDataError(f"{endpoint} sent a body that cannot be decompressed ({root_cause(exc)}).") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # the socket's own timeout (what remained of the deadline when the attempt began) may beat the watchdog
        if deadline.fired or isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError):
            raise TransientFailure("timeout", "the body was still arriving") from None
        raise TransientFailure("connection", f"the connection broke in the body: {root_cause(exc)}") from None
    finally:
        response.close()
    if deadline.fired:
        raise TransientFailure("timeout", "the body was still arriving")
    return buffer.getvalue()


def _too_large(endpoint: str, limit: int, seen: str) -> ApiDataError:
    return ApiDataError(
        f"{endpoint} sent a body larger than {settings.MAX_BODY_SETTING} = {limit / 2**20:g} MiB ({seen}); "
        "nothing was written. Raise the setting (SOURCES__BENCHMARKS__MAX_BODY_MIB) if answers this large are real."
    )


def _encoded(response: requests.Response) -> bool:
    return response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")


def _inflater(response: requests.Response, endpoint: str) -> Callable[[bytes, int], bytes]:
    """A function (compressed chunk, room left) -> at most room + 1 bytes of body (b"" for a chunk that inflates to
    nothing yet); called with b"" at the end of the body, it returns what is left, then b""."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return lambda chunk, room: chunk
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ApiDataError(f"{endpoint} sent a body in an encoding it was not offered ({encoding[:40]!r}).")
    return _Inflater()


class _Inflater:
    """gzip or zlib data inflated with a bound on every step: zlib's max_length keeps what a chunk inflates to beyond
    the room in the decompressor's unconsumed tail, so one byte past the room refuses the body before more is held.
    A gzip stream of several members (valid HTTP) is inflated member after member."""

    WBITS = zlib.MAX_WBITS | 32  # a gzip or a zlib header, detected

    def __init__(self) -> None:
        self._decoder = zlib.decompressobj(self.WBITS)
        self._ended = False

    def __call__(self, chunk: bytes, room: int) -> bytes:
        if self._ended:
            return b""
        out, pending = b"", chunk
        while len(out) <= room:
            decoder = self._decoder
            out += decoder.decompress(decoder.unconsumed_tail + pending, room + 1 - len(out))
            pending = b""
            if decoder.eof and decoder.unused_data:  # the next gzip member begins
                pending, self._decoder = decoder.unused_data, zlib.decompressobj(self.WBITS)
            elif not decoder.unconsumed_tail:
                break
        if not chunk and not out:  # the body has ended: what the decompressor still holds, once
            self._ended = True
            return b"" if self._decoder.eof else self._decoder.flush()
        return out


def root_cause(exc: BaseException) -> str:
    """The innermost exception's message, without URLs that would repeat the endpoint."""
    while exc.__cause__ is not None or (exc.args and isinstance(exc.args[0], BaseException)):
        exc = exc.__cause__ if exc.__cause__ is not None else exc.args[0]
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
