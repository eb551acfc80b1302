"""GraphQL Admin API access through the official ShopifyAPI client.

``shopify.GraphQL`` builds the endpoint and headers from the (thread-local) active site; this
module activates the right shop, adds what the library lacks (a timeout on every call, errors
raised instead of printed) and honours Shopify's leaky-bucket throttling: a ``THROTTLED``
answer is retried after the time the bucket needs to refill, read from
``extensions.cost.throttleStatus`` rather than hard-coded.
"""

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import shopify
from django.conf import settings
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from integrations.shopify.domains import shop_origin
from integrations.shopify.version import API_VERSION

logger = logging.getLogger(__name__)


class ShopifyError(Exception):
    """A GraphQL error or a failed HTTP call that retrying will not fix."""


class ShopifyAuthError(ShopifyError):
    """401/403: the token was revoked (app uninstalled), expired or lacks a scope."""


class ShopifyUnauthorized(ShopifyAuthError):
    """HTTP 401: Shopify does not accept this access token (expired, revoked, or non-expiring
    after Shopify stopped accepting those)."""

    def __init__(self, message: str, *, token: str) -> None:
        super().__init__(message)
        self.token = token


class Credentials(Protocol):
    """Where a client gets its access token (``tokens.ShopCredentials`` for a stored shop)."""

    def current(self) -> str:
        """The token for the next call (refreshed first when it is about to expire)."""

    def rejected(self, token: str) -> str | None:
        """The API answered 401 to ``token``: a new token to retry with once, or None."""


class StaticCredentials:
    """A fixed token (tests, the sandbox tools): nothing to refresh."""

    def __init__(self, token: str) -> None:
        self.token = token

    def current(self) -> str:
        return self.token

    def rejected(self, token: str) -> str | None:
        return None


class ShopifyTransientError(ShopifyError):
    """Network trouble, a 5xx, or throttling: worth retrying."""

    def __init__(self, message: str, *, wait_seconds: float = 0.0) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


class _TimedGraphQL(shopify.GraphQL):
    def __init__(self, timeout: float, token: str) -> None:
        super().__init__()
        self.timeout = timeout
        self.token = token

    def execute(self, query: str, variables: dict | None = None, operation_name: str | None = None) -> str:
        headers = self.merge_headers(
            {"Accept": "application/json", "Content-Type": "application/json"}, self.headers
        )
        data = {"query": query, "variables": variables, "operationName": operation_name}
        request = urllib.request.Request(self.endpoint, json.dumps(data).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode()
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")[:500]
            if error.code == 401:
                raise ShopifyUnauthorized(f"HTTP 401: {body}", token=self.token) from error
            if error.code == 403:
                raise ShopifyAuthError(f"HTTP 403: {body}") from error
            if error.code == 429 or error.code >= 500:
                raise ShopifyTransientError(f"HTTP {error.code}: {body}", wait_seconds=1.0) from error
            raise ShopifyError(f"HTTP {error.code}: {body}") from error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise ShopifyTransientError(f"network error: {error}") from error


def _throttle_wait(cost: dict, requested: float) -> float:
    status = cost.get("throttleStatus") or {}
    available = float(status.get("currentlyAvailable", 0))
    restore = float(status.get("restoreRate", 50)) or 50.0
    return max(0.05, (requested - available) / restore)


_BACKOFF = wait_exponential_jitter(multiplier=0.2, max=10)


def _wait(state: RetryCallState) -> float:
    """Throttled: wait as long as the bucket needs.  Network or 5xx: exponential with jitter."""
    error = state.outcome.exception() if state.outcome else None
    backoff = _BACKOFF(state)
    if isinstance(error, ShopifyTransientError) and error.wait_seconds:
        return max(error.wait_seconds, 0.05)
    return backoff


class ShopifyClient:
    """One shop's Admin API.  ``execute`` returns ``data`` or raises a ``ShopifyError``.

    The token comes from ``credentials`` before every call (so a long sync outlives many expiring
    tokens); a 401 asks the credentials once for a new token and repeats the call with it.
    """

    def __init__(
        self,
        *,
        domain: str,
        access_token: str = "",
        credentials: Credentials | None = None,
        timeout: float | None = None,
        attempts: int = 10,
    ) -> None:
        """``attempts``: how often a transient failure is tried; small for calls a shopper waits on."""
        self.domain = domain
        self.attempts = attempts
        self.credentials: Credentials = credentials or StaticCredentials(access_token)
        self.timeout = timeout or settings.SHOPIFY_HTTP_TIMEOUT
        self.site = f"{shop_origin(domain)}/admin/api/{API_VERSION}"
        self.last_cost: dict[str, Any] = {}

    @contextmanager
    def _activated(self, token: str) -> Iterator[None]:
        previous_site = shopify.ShopifyResource.get_site()
        previous_headers = dict(shopify.ShopifyResource.get_headers() or {})
        shopify.ShopifyResource.set_site(self.site)
        shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": token})
        try:
            yield
        finally:
            shopify.ShopifyResource.set_site(previous_site)
            shopify.ShopifyResource.set_headers(previous_headers)

    def execute(self, query: str, variables: dict | None = None) -> dict[str, Any]:
        retrying = Retrying(
            retry=retry_if_exception_type(ShopifyTransientError),
            wait=_wait,
            stop=stop_after_attempt(self.attempts),
            reraise=True,
        )
        try:
            return retrying(self._execute_once, query, variables)
        except ShopifyUnauthorized as error:
            if not self.credentials.rejected(error.token):
                raise
            logger.info("shopify answered 401 on %s; retrying once with a renewed token", self.domain)
            return retrying(self._execute_once, query, variables)

    def _execute_once(self, query: str, variables: dict | None) -> dict[str, Any]:
        token = self.credentials.current()
        with self._activated(token):
            raw = _TimedGraphQL(self.timeout, token).execute(query, variables)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ShopifyError(f"not JSON: {raw[:200]!r}") from error
        cost = (body.get("extensions") or {}).get("cost") or {}
        self.last_cost = cost
        errors = body.get("errors")
        if errors:
            if isinstance(errors, str):
                raise ShopifyAuthError(errors)
            codes = {(e.get("extensions") or {}).get("code") for e in errors}
            if "THROTTLED" in codes or any(e.get("message") == "Throttled" for e in errors):
                wait = _throttle_wait(cost, float(cost.get("requestedQueryCost", 50)))
                logger.info("shopify throttled on %s, waiting %.2fs", self.domain, wait)
                raise ShopifyTransientError("Throttled", wait_seconds=wait)
            if "ACCESS_DENIED" in codes:
                raise ShopifyAuthError("; ".join(e.get("message", "") for e in errors))
            raise ShopifyError("; ".join(e.get("message", str(e)) for e in errors))
        return body.get("data") or {}

    def paginate(
        self, query: str, connection: str, variables: dict | None = None, *, page_size: int = 250
    ) -> Iterator[dict]:
        """Yield every node of a top-level connection, following the cursor."""
        after = None
        while True:
            data = self.execute(query, {**(variables or {}), "first": page_size, "after": after})
            page = data[connection]
            yield from page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]
