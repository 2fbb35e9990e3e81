"""Sends events to Bearing with openlineage-python's HTTP transport, within a hard time limit.

Guarantees (see README, "Guarantees and worst-case latency"):
  * `send` never raises.
  * `send` returns within `timeout` seconds (plus thread start-up), whatever the network does:
    the request (token request included) runs in a daemon thread that is abandoned at the deadline,
    so even a DNS lookup that hangs cannot hold a task back.
  * After Bearing is found unavailable (timeout, connection refused, 5xx, 401/403) the circuit
    breaker opens for `breaker_cooldown` seconds (or the server's Retry-After on 503, capped at
    `MAX_RETRY_AFTER`): sends in that window are skipped at once, in every process of the
    invocation (the breaker lives in the shared state directory).
  * Warnings are rate-limited: one per kind per `WARN_INTERVAL` seconds, with a count of the
    ones left out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Optional

import requests
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    OAuth2ClientCredentialsTokenProvider,
    TokenProvider,
)

from .config import Settings
from .state import StateStore

log = logging.getLogger("bearing_luigi")

MAX_RETRY_AFTER = 300.0
WARN_INTERVAL = 60.0


class ClientCredentialsTokenProvider(OAuth2ClientCredentialsTokenProvider):
    """openlineage-python's OAuth2 client-credentials provider with two changes: the token request
    honours our timeout (the parent class uses a fixed 10 s), and a token living less than twice
    the refresh buffer is reused for half its life instead of being fetched for every event."""

    def __init__(
        self,
        config: dict[str, Any],
        timeout: float,
        resource: Optional[str] = None,
        audience: Optional[str] = None,
    ) -> None:
        super().__init__(config)
        self.request_timeout = timeout
        self.resource = resource
        self.audience = audience
        self.fetches = 0

    def _get_token_request_data(self) -> dict[str, str]:
        # The parent sends grant_type and scope; Bearing checks the token's audience, which many
        # providers set only when asked (RFC 8707 `resource`, or `audience`).
        data = super()._get_token_request_data()
        if self.resource:
            data["resource"] = self.resource
        if self.audience:
            data["audience"] = self.audience
        return data

    def _fetch_token(self) -> None:
        self.fetches += 1
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        authorization = self._get_token_request_authorization()
        if authorization:
            headers["Authorization"] = authorization
        response = requests.post(
            self.token_endpoint,
            data=self._get_token_request_data(),
            headers=headers,
            timeout=self.request_timeout,
        )
        try:
            response.raise_for_status()
        except requests.HTTPError as exc:
            raise TokenError(f"token endpoint answered {response.status_code}") from exc
        body = response.json()
        token = self._extract_token_from_response(body)
        if not token:
            raise TokenError(f"token endpoint's answer has none of the fields {self.token_fields}")
        now = self._get_current_time()
        expires_in = self._extract_expires_in(body)
        expiry = now + expires_in if expires_in else self._extract_expiry_from_jwt(token)
        if expiry:
            lifetime = max(expiry - now, 0.0)
            self.token_refresh_buffer = int(min(self.TOKEN_REFRESH_BUFFER_SECONDS, lifetime / 2))
        self._cached_token = token
        self._token_expiry = expiry

    def after_fork(self) -> None:
        # A lock held by another thread at fork time would stay held forever in the child.
        self._lock = threading.Lock()


class TokenError(Exception):
    pass


class _RateLimitedWarnings:
    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, kind: str, msg: str, *args: Any) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < WARN_INTERVAL:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            suppressed = self._suppressed.pop(kind, 0)
            self._last[kind] = now
        if suppressed:
            msg += " (%d similar warnings left out)"
            args = (*args, suppressed)
        log.warning("bearing_luigi: " + msg, *args)


class Sender:
    def __init__(self, settings: Settings, store: StateStore) -> None:
        self.settings = settings
        self.store = store
        self.warnings = _RateLimitedWarnings()
        self.token_provider = self._token_provider()
        self._client: Optional[OpenLineageClient] = None
        self._client_pid = -1
        self._lock = threading.Lock()
        # Counters, per process: for tests and for the summary log line.
        self.sent = 0
        self.failed = 0
        self.skipped = 0

    def _token_provider(self) -> TokenProvider:
        s = self.settings
        if s.uses_client_credentials:
            config: dict[str, Any] = {
                "clientId": s.client_id,
                "clientSecret": s.client_secret,
                "tokenEndpoint": s.token_url,
            }
            if s.scope:
                config["scope"] = s.scope
            return ClientCredentialsTokenProvider(config, timeout=s.timeout, resource=s.resource, audience=s.audience)
        if s.token:
            return ApiKeyTokenProvider({"apiKey": s.token})
        return TokenProvider({})

    def _retry_config(self) -> dict[str, Any]:
        n = self.settings.retries
        return {
            "total": n,
            "connect": n,
            "read": n,
            "status": n,
            "backoff_factor": 0.2,
            "status_forcelist": [500, 502, 504] if n else [],
            "allowed_methods": ["POST"],
            # A 503's Retry-After must not make a task sleep: the breaker honours it instead.
            "respect_retry_after_header": False,
            "raise_on_status": False,
        }

    def client(self) -> OpenLineageClient:
        """One client per process: a forked child must not share its parent's HTTP connections."""
        pid = os.getpid()
        if self._client is None or self._client_pid != pid:
            if self._client_pid not in (-1, pid) and isinstance(self.token_provider, ClientCredentialsTokenProvider):
                self.token_provider.after_fork()
            url = self.settings.url or ""
            config = HttpConfig(
                # A trailing slash keeps a path prefix (https://host/bearing/) when joined with the endpoint.
                url=url.rstrip("/") + "/",
                endpoint="api/v1/lineage",
                timeout=self.settings.timeout,
                auth=self.token_provider,
                retry=self._retry_config(),
            )
            self._client = OpenLineageClient(transport=HttpTransport(config))
            self._client_pid = pid
        return self._client

    # -- breaker -------------------------------------------------------------------------------

    def breaker_is_open(self) -> bool:
        return time.time() < self.store.breaker_open_until()

    def _trip(self, seconds: float) -> None:
        self.store.open_breaker(time.time() + seconds)

    # -- sending -------------------------------------------------------------------------------

    def send(self, event: Any, describe: str = "") -> bool:
        """Sends one event. True if Bearing stored it. Never raises."""
        try:
            return self._send(event, describe)
        except Exception as exc:  # never out of a Luigi handler
            self.failed += 1
            self.warnings.warn("internal", "could not send %s: %r", describe, exc)
            return False

    def _send(self, event: Any, describe: str) -> bool:
        if self.breaker_is_open():
            self.skipped += 1
            return False
        with self._lock:
            client = self.client()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                client.emit(event)
                outcome["ok"] = True
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="bearing-luigi-send", daemon=True)
        thread.start()
        thread.join(self.settings.timeout)
        if thread.is_alive():
            # Abandon it: its connection and client go with it.
            with self._lock:
                if self._client is client:
                    self._client = None
            return self._failed(describe, "no answer within %.1f s" % self.settings.timeout, self.settings.breaker_cooldown)
        if outcome.get("ok"):
            self.sent += 1
            if self.store.breaker_open_until():
                self.store.close_breaker()
            return True
        return self._classify(outcome.get("error"), describe)

    def _failed(self, describe: str, why: str, cooldown: Optional[float], kind: str = "down") -> bool:
        self.failed += 1
        if cooldown:
            self._trip(cooldown)
            self.warnings.warn(
                kind,
                "Bearing at %s is unavailable (%s) sending %s; events are skipped for %.0f s",
                self.settings.url,
                why,
                describe,
                cooldown,
            )
        else:
            self.warnings.warn(kind, "Bearing at %s did not take %s: %s", self.settings.url, describe, why)
        return False

    def _classify(self, exc: Optional[BaseException], describe: str) -> bool:
        cooldown = self.settings.breaker_cooldown
        response = getattr(exc, "response", None)
        if isinstance(exc, requests.HTTPError) and response is not None:
            status = response.status_code
            if status == 503:
                retry_after = _retry_after(response.headers.get("Retry-After"))
                wait = min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else cooldown
                return self._failed(describe, "503 overloaded", wait)
            if status in (401, 403):
                return self._failed(describe, f"{status}: the token or client credentials were refused", cooldown, "auth")
            if status >= 500:
                return self._failed(describe, f"HTTP {status}", cooldown)
            # 400: this event is wrong (a bug here, or in Bearing); the next one may well be fine.
            return self._failed(describe, f"HTTP {status}: {_problem(response)}", None, "rejected")
        if isinstance(exc, TokenError):
            return self._failed(describe, f"token request failed: {exc}", cooldown, "auth")
        return self._failed(describe, _short(exc), cooldown)


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except Exception:
        return None


def _problem(response: Any) -> str:
    try:
        body = response.json()
        if isinstance(body, dict):
            parts = [str(body[k]) for k in ("pointer", "message", "hint") if body.get(k)]
            if parts:
                return " ".join(parts)
    except Exception:
        pass
    return (getattr(response, "text", "") or "")[:200]


def _short(exc: Optional[BaseException]) -> str:
    if exc is None:
        return "unknown error"
    # requests' ConnectionError text nests urllib3's; the class name and first line are enough.
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}"


SendFn = Callable[[Any, str], bool]
