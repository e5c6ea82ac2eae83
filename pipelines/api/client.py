"""HTTP access to the Benchmarks API: one keep-alive session, retries with backoff, bounded concurrency.

Resources never call `requests` directly; they ask an `ApiClient` for parsed JSON and get a typed `ApiError`
(with a one-line message meant for the user) when something goes wrong.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import requests

from pipelines import interrupts
from pipelines.api import settings
from pipelines.api.http_body import ACCEPTED_ENCODINGS
from pipelines.api.http_deadline import DeadlinedAdapter
from pipelines.api.http_read import Answer, RequestReader, RetryPolicy, error_message
from pipelines.api.security import ca_bundle_for, check_base_url, proxies_for
from pipelines.errors import ApiAuthError, ApiDataError, ApiError

if TYPE_CHECKING:
    from pipelines.api.configuration import SourceSettings

T = TypeVar("T")
R = TypeVar("R")


class Gone:
    """What `ApiClient.get_json` returns for a 404 it was told to expect: the entity is gone (a body cannot be)."""

    def __repr__(self) -> str:
        return "GONE"


GONE = Gone()


@dataclass(frozen=True)
class Body:
    """The raw body of a successful response, decoded on demand (by orjson, or by Arrow on the fast path)."""

    endpoint: str
    content: bytes
    content_type: str

    def json(self) -> Any:
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError as exc:
            raise ApiDataError(
                f"{self.endpoint} returned a body that is not valid JSON ({self.content_type}: {exc}); "
                "check --base-url points at the Benchmarks API."
            ) from None


class RequestCounter:
    """Thread-safe count of the API requests a load made (logical requests; retries are not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def increment(self) -> None:
        with self._lock:
            self.value += 1


class ListRecorder:
    """Digests of the list bodies a load read (types, models, details, run lists), keyed by request.

    Two loads that read identical lists with identical settings have nothing new to load: test cases are only
    fetched for runs whose counts or score changed, and those are in the run lists. `keep_bodies` also keeps the
    bodies themselves, so a load that found a change need not read them again (see `Prefetched`).
    """

    def __init__(self, keep_bodies: bool = False) -> None:
        self._lock = threading.Lock()
        self.digests: dict[str, str | None] = {}
        self.bodies: dict[str, Body | None] | None = {} if keep_bodies else None

    def record(self, endpoint: str, body: Body | None) -> None:
        digest = None if body is None else hashlib.sha256(body.content).hexdigest()
        with self._lock:
            self.digests[endpoint] = digest
            if self.bodies is not None:
                self.bodies[endpoint] = body


@dataclass(frozen=True)
class Prefetched:
    """List bodies already read from `base_url` with a key whose digest is `key_digest`; valid for that pair only."""

    base_url: str
    key_digest: str
    bodies: dict[str, Body | None]

    @staticmethod
    def key_digest_of(api_key: str) -> str:
        return hashlib.sha256(api_key.encode("utf-8")).hexdigest()

    def bodies_for(self, base_url: str, api_key: str) -> dict[str, Body | None]:
        if base_url.rstrip("/") != self.base_url.rstrip("/") or self.key_digest_of(api_key) != self.key_digest:
            return {}
        return dict(self.bodies)


class ApiClient:
    """Reads the Benchmarks API over one shared keep-alive session and fans requests out over a bounded pool."""

    def __init__(
        self,
        source_settings: SourceSettings,
        *,
        counter: RequestCounter,
        recorder: ListRecorder | None = None,
        prefetched: Prefetched | None = None,
    ) -> None:
        """A client for the source's resolved settings (their `api_key` is the key to send); `counter` counts its
        requests, `recorder` the list bodies it reads, `prefetched` bodies it need not read again."""
        api_key = source_settings.api_key
        if not api_key:
            raise ApiAuthError(
                f"No API key configured: set {settings.API_KEY_SETTING} or api_key under [sources.benchmarks] "
                "in .dlt/secrets.toml."
            )
        allow_insecure_http = source_settings.allow_insecure_http
        self.base_url = check_base_url(source_settings.base_url, allow_insecure_http=allow_insecure_http).rstrip("/")
        self.api_root = self.base_url + settings.API_PREFIX
        self.workers = max(1, min(int(source_settings.workers), settings.MAX_WORKERS))
        self.request_timeout = source_settings.request_timeout
        self.max_attempts = max(1, int(source_settings.max_attempts))
        self.counter = counter
        self.recorder = recorder
        self._prefetched = prefetched.bodies_for(self.base_url, api_key) if prefetched else {}
        self.session = self._make_session(api_key)
        self._reader = RequestReader(
            self.session, self.base_url, timeout=self.request_timeout,
            max_body_bytes=int(source_settings.max_body_mib * 2**20),
            retry=RetryPolicy(self.max_attempts, settings.BACKOFF_FACTOR_S, source_settings.backoff_max),
            verify=ca_bundle_for(source_settings.ca_bundle),
            proxies=proxies_for(self.base_url, allow_insecure_http=allow_insecure_http),
        )

    def _make_session(self, api_key: str) -> requests.Session:
        """One keep-alive session. No retries or redirects of its own: RequestReader does both, with the deadline
        and the origin check they need."""
        adapter = DeadlinedAdapter(max_retries=0, pool_connections=1, pool_maxsize=self.workers)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update(
            {"X-Api-Key": api_key, "Accept": "application/json", "Accept-Encoding": ACCEPTED_ENCODINGS,
             "User-Agent": settings.USER_AGENT}
        )
        return session

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False) -> Any:
        """GET `path` (relative to /api/v2/benchmarks) and return the decoded JSON.

        Returns `GONE` for a 404 when `missing_ok` (an entity removed between listing it and reading it), so that a
        body `null` (None) is never mistaken for it. Lists are read through here, so their bodies are recorded; a
        body prefetched by this load is used instead of a request.
        """
        endpoint = describe_endpoint(path, params)
        if endpoint in self._prefetched:
            body = self._prefetched.pop(endpoint)
        else:
            body = self.get_body(path, params, missing_ok=missing_ok)
        if self.recorder is not None:
            self.recorder.record(endpoint, body)
        return GONE if body is None else body.json()

    def get_body(self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False) -> Body | None:
        """GET `path` and return the raw body of a 200 answer (see get_json); errors as for get_json."""
        endpoint = describe_endpoint(path, params)
        self.counter.increment()
        return self._decode(endpoint, self._reader.get(self.api_root + path, params, endpoint), missing_ok)

    def _decode(self, endpoint: str, answer: Answer, missing_ok: bool) -> Body | None:
        status = answer.status
        if status == 200:
            return Body(endpoint, answer.content, answer.content_type)
        message = error_message(answer)
        if status in (401, 403):
            raise ApiAuthError(
                f"The API rejected the key (HTTP {status}: {message}). Set a valid key in "
                f"{settings.API_KEY_SETTING} or api_key under [sources.benchmarks] in .dlt/secrets.toml."
            )
        if status == 404:
            if missing_ok:
                return None
            raise ApiError(
                f"{endpoint} was not found (HTTP 404: {message}); check that --base-url / "
                f"{settings.BASE_URL_SETTING} is the API's root URL (e.g. {settings.EU_BASE_URL})."
            )
        raise ApiError(f"{endpoint} answered HTTP {status}: {message}")

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Yield (item, fn(item)) in completion order, with at most `workers` calls in flight.

        The window is bounded so memory holds a few responses, not all of them. The first failure cancels the
        remaining work and is re-raised. A Ctrl-C / SIGTERM closes the session and does not wait for the requests
        in flight: a read may hang until its timeout (pipelines/interrupts/watchdog.py ends the process).
        """
        pending: dict[Future[R], T] = {}
        source = iter(items)
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="benchmarks-http")
        try:
            with interrupts.interruptible(self.session.close):
                for item in source:
                    pending[pool.submit(fn, item)] = item
                    if len(pending) >= self.workers * 2:
                        yield from _drain(pending, FIRST_COMPLETED)
                while pending:
                    yield from _drain(pending, FIRST_COMPLETED)
        finally:
            pool.shutdown(wait=not interrupts.received(), cancel_futures=True)


def _drain(pending: dict[Future[R], T], mode: str) -> Iterator[tuple[T, R]]:
    done, _ = wait(list(pending), return_when=mode)
    for future in done:
        item = pending.pop(future)
        yield item, future.result()


def describe_endpoint(path: str, params: dict[str, Any] | None = None) -> str:
    """A short, key-free name for a request, used in error messages: 'GET /models/3/runs?benchmarkTypeId=1'."""
    query = "&".join(f"{key}={value}" for key, value in (params or {}).items())
    return f"GET {settings.API_PREFIX}{path}" + (f"?{query}" if query else "")

