"""One API request, read defensively: the key goes to the configured origin only, every body is streamed against a
size cap (decompressed bytes counted), and each attempt, body included, meets one deadline (request_timeout).

Retries (429/5xx, timeouts, dropped connections) are ours, so an attempt that failed while its body was being read
counts like any other; the deadline itself is in http_deadline.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import orjson
import requests
import urllib3
from urllib3.util.retry import Retry

from pipelines.api import settings
from pipelines.api.http_body import Answer, TransientFailure, read_capped, root_cause
from pipelines.api.http_deadline import Deadline, attempt_deadline
from pipelines.api.security import origin_of, shown_url
from pipelines.errors import ApiError, ApiUnavailableError


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_factor: float
    backoff_max: float

    def delay(self, failures: int, answer: Answer | None) -> float:
        """urllib3's schedule: no wait after the first failure, then factor × 2^(n-1); a 429's or 503's Retry-After
        instead when it gives one; never more than backoff_max."""
        if answer is not None and answer.retry_after and answer.status in settings.RETRY_AFTER_STATUSES:
            try:
                return max(0.0, min(Retry(0).parse_retry_after(answer.retry_after), self.backoff_max))
            except urllib3.exceptions.InvalidHeader:
                pass
        if failures <= 1:
            return 0.0
        return min(self.backoff_max, self.backoff_factor * 2 ** (failures - 1))


class RequestReader:
    """GETs of one base URL over one session: same-origin redirects followed, bodies capped, attempts deadlined."""

    def __init__(self, session: requests.Session, base_url: str, *, timeout: float, max_body_bytes: int,
                 retry: RetryPolicy, verify: str | bool, proxies: dict[str, None] | None) -> None:
        self.session, self.base_url, self.origin = session, base_url, origin_of(base_url)
        self.timeout, self.max_body_bytes, self.retry = timeout, max_body_bytes, retry
        self.verify, self.proxies = verify, proxies

    def get(self, url: str, params: dict[str, Any] | None, endpoint: str) -> Answer:
        """The answer of the first attempt that is not transient; after max_attempts, ApiUnavailableError."""
        failures = 0
        while True:
            try:
                return self.attempt(url, params, endpoint)
            except TransientFailure as failure:
                failures += 1
                if failures >= self.retry.max_attempts:
                    raise self._give_up(endpoint, failure) from None
                time.sleep(self.retry.delay(failures, failure.answer))

    def attempt(self, url: str, params: dict[str, Any] | None, endpoint: str) -> Answer:
        with attempt_deadline(self.timeout) as deadline:
            for _ in range(settings.MAX_REDIRECTS + 1):
                response = self._send(url, params, endpoint, deadline)
                if not response.is_redirect:
                    return self._answer(response, endpoint, deadline)
                url, params = self._redirect_target(response, endpoint), None
                response.close()
        raise ApiUnavailableError(
            f"{endpoint} was redirected more than {settings.MAX_REDIRECTS} times; check --base-url / "
            f"{settings.BASE_URL_SETTING}."
        )

    def _send(self, url: str, params: dict[str, Any] | None, endpoint: str, deadline: Deadline) -> requests.Response:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise TransientFailure("timeout", "no answer in time")
        try:
            return self.session.get(url, params=params, timeout=(remaining, remaining), stream=True,
                                    allow_redirects=False, verify=self.verify, proxies=self.proxies)
        except requests.exceptions.SSLError as exc:
            raise ApiUnavailableError(
                f"TLS with {shown_url(self.base_url)} failed ({root_cause(exc)}); if your network uses a private "
                "CA, point sources.benchmarks.ca_bundle or REQUESTS_CA_BUNDLE at its certificates."
            ) from None
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            if deadline.fired or isinstance(exc, requests.exceptions.Timeout):
                raise TransientFailure("timeout", "no complete answer in time") from None
            raise TransientFailure("connection", root_cause(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise ApiUnavailableError(f"{endpoint} failed: {root_cause(exc)}") from None

    def _redirect_target(self, response: requests.Response, endpoint: str) -> str:
        """Where a redirect points, if that is the configured origin; refused otherwise (the key would go along)."""
        target = urljoin(response.url, self.session.get_redirect_target(response) or "")
        if origin_of(target) != self.origin:
            response.close()
            raise ApiUnavailableError(
                f"{endpoint} answered HTTP {response.status_code}, a redirect to {shown_url(target)}, which is not "
                f"the API's origin {shown_url(self.base_url)}; refused, so the API key stays with the API. Check "
                f"--base-url / {settings.BASE_URL_SETTING}."
            )
        return target

    def _answer(self, response: requests.Response, endpoint: str, deadline: Deadline) -> Answer:
        status = response.status_code
        limit = self.max_body_bytes if status == 200 else min(self.max_body_bytes, settings.ERROR_BODY_MAX_BYTES)
        content = read_capped(response, endpoint, limit, deadline, truncate=status != 200)
        answer = Answer(status, content, response.headers.get("Content-Type", "unknown content type"),
                        response.reason or "", response.headers.get("Retry-After"))
        if status in settings.RETRY_STATUSES:
            raise TransientFailure("status", f"HTTP {status}", answer)
        return answer

    def _give_up(self, endpoint: str, failure: TransientFailure) -> ApiError:
        attempts = self.retry.max_attempts
        if failure.kind == "status" and failure.answer is not None:
            return ApiUnavailableError(
                f"{endpoint} still answered HTTP {failure.answer.status} after {attempts} attempts "
                f"({error_message(failure.answer)}); the API may be down, try again later."
            )
        if failure.kind == "timeout":
            return ApiUnavailableError(
                f"{endpoint} did not complete within request_timeout = {self.timeout:g} s, after {attempts} "
                f"attempts ({failure.cause}); try again later, or raise sources.benchmarks.request_timeout."
            )
        return ApiUnavailableError(
            f"Cannot reach the Benchmarks API at {shown_url(self.base_url)} ({failure.cause}) after {attempts} "
            f"attempts; check --base-url / {settings.BASE_URL_SETTING} and the network."
        )


def error_message(answer: Answer) -> str:
    """The message of the API's error envelope {"error": {"message", "code"}}, or a short excerpt of the body;
    at most ERROR_MESSAGE_MAX_CHARS characters either way."""
    text = ""
    try:
        body = orjson.loads(answer.content)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code")
            text = f"{code}: {error['message']}" if code else str(error["message"])
    except orjson.JSONDecodeError:
        pass
    if not text:
        text = answer.content[: settings.ERROR_MESSAGE_MAX_CHARS].decode("utf-8", "replace")
    text = " ".join(text.split())
    limit = settings.ERROR_MESSAGE_MAX_CHARS
    return (text if len(text) <= limit else text[: limit - 3] + "...") or answer.reason or "no body"
