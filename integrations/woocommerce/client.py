"""WooCommerce REST API v3 through the official ``woocommerce`` client (``woocommerce.API``).

The library signs each request (basic auth over https, OAuth 1.0a one-legged over plain http, as
WooCommerce expects) and sets the timeout; this module adds what it lacks:

- errors raised instead of returned: WooCommerce answers ``{"code": ..., "message": ...,
  "data": {"status": ...}}``; 401/403 become ``WooAuthError`` (the keys were revoked or lost their
  permission: the merchant must reconnect), other 4xx ``WooError`` carrying WooCommerce's ``code``;
- retries: 429, 5xx, timeouts and refused connections are tried again with exponential backoff,
  waiting at least what ``Retry-After`` asks; after the last try ``PlatformUnavailable``;
- pages: ``per_page=100`` (WooCommerce's maximum) and the ``X-WP-Total`` / ``X-WP-TotalPages``
  headers.
"""

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from woocommerce import API

from integrations.platforms import PlatformUnavailable
from integrations.woocommerce.credentials import Credentials

logger = logging.getLogger(__name__)

PER_PAGE = 100  # the REST API's maximum
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 120.0  # a Retry-After longer than this is not waited for in-process


class WooError(Exception):
    """WooCommerce refused the request (a 4xx other than 401/403/429), or answered nonsense."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # WooCommerce's error code, e.g. "woocommerce_rest_coupon_code_already_exists"
        self.data = data


class WooNotFound(WooError):
    """404: the resource (or the REST API itself) is not there."""


class WooAuthError(WooError):
    """401/403: the API keys were revoked or lack read/write permission: reconnect the store."""


def default_timeout() -> float:
    return float(getattr(settings, "WOOCOMMERCE_HTTP_TIMEOUT", 20.0))


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    page: int
    total: int | None  # X-WP-Total, when sent
    total_pages: int | None  # X-WP-TotalPages, when sent

    @property
    def is_last(self) -> bool:
        if self.total_pages is not None:
            return self.page >= self.total_pages
        # no header (a proxy dropped it): only an empty page is sure to be the end, since a
        # store may serve fewer than 100 a page
        return not self.items


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class WooClient:
    """One store's REST API (``/wp-json/wc/v3``).

    ``attempts``: how often a transient failure is tried (small when a person waits on the
    answer).  ``on_unauthorized(reason)`` is called once when the store answers 401/403, before
    ``WooAuthError`` is raised (``client_for`` marks the shop as needing to reconnect).
    ``sleep`` is the pause between tries (``time.sleep``); a store asking for a longer pause than
    ``max_wait_seconds`` is given up on at once (``PlatformUnavailable``: a task retries later).
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: float | None = None,
        attempts: int = 6,
        backoff_seconds: float = 0.5,
        on_unauthorized: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.credentials = credentials
        self.max_wait_seconds = max_wait_seconds
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self.on_unauthorized = on_unauthorized
        self.sleep = sleep
        self.api = API(
            url=credentials.store_url.rstrip("/"),
            consumer_key=credentials.consumer_key,
            consumer_secret=credentials.consumer_secret,
            version="wc/v3",
            wp_api=True,
            timeout=timeout or default_timeout(),
            user_agent="Comeback/1.0 (+woocommerce-python)",
        )

    # --- the verbs ----------------------------------------------------------------------------

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._request("GET", endpoint, params=params))

    def post(self, endpoint: str, data: Any) -> Any:
        return self._json(self._request("POST", endpoint, data=data))

    def put(self, endpoint: str, data: Any) -> Any:
        return self._json(self._request("PUT", endpoint, data=data))

    def page(self, endpoint: str, *, page: int, params: Mapping[str, Any] | None = None) -> Page:
        """One page of a collection (``per_page=100``)."""
        response = self._request("GET", endpoint, params={**(params or {}), "page": page, "per_page": PER_PAGE})
        items = self._json(response)
        if not isinstance(items, list):
            raise WooError(f"GET {endpoint}: expected a list, got {type(items).__name__}", status=response.status_code)
        return Page(
            items=items,
            page=page,
            total=_int_header(response.headers, "X-WP-Total"),
            total_pages=_int_header(response.headers, "X-WP-TotalPages"),
        )

    def pages(
        self, endpoint: str, *, params: Mapping[str, Any] | None = None, start: int = 1
    ) -> Iterator[Page]:
        """Every page from ``start`` on, until ``X-WP-TotalPages`` (or a short page)."""
        number = start
        while True:
            current = self.page(endpoint, page=number, params=params)
            yield current
            if current.is_last or not current.items:
                return
            number += 1

    def site(self) -> dict[str, Any]:
        """The WordPress site's public index (``GET /wp-json/``: ``name``, ``description``,
        ``timezone_string``), or ``{}`` when the store does not answer it (nothing depends on it)."""
        try:
            response = requests.get(f"{self.credentials.store_url.rstrip('/')}/wp-json/", allow_redirects=False,
                                    timeout=min(self.api.timeout, 10), headers={"Accept": "application/json"})
            data = response.json() if response.status_code == 200 else {}
        except (requests.RequestException, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # --- the machinery ------------------------------------------------------------------------

    def _call(self, method: str, endpoint: str, params: dict[str, Any], data: Any) -> requests.Response:
        # No redirects: the store's address was checked when it connected (public, https); a
        # redirect could point our signed calls anywhere, even inside our own network.
        if method == "GET":
            return self.api.get(endpoint, params=params, allow_redirects=False)
        if method == "POST":
            return self.api.post(endpoint, data, params=params, allow_redirects=False)
        if method == "PUT":
            return self.api.put(endpoint, data, params=params, allow_redirects=False)
        if method == "DELETE":
            return self.api.delete(endpoint, params=params, allow_redirects=False)
        raise ValueError(method)

    def _request(
        self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None, data: Any = None
    ) -> requests.Response:
        last_problem = ""
        for attempt in range(1, self.attempts + 1):
            wait: float | None = None
            try:
                # the library adds auth parameters to the dict it is given: hand it a copy
                response = self._call(method, endpoint, dict(params or {}), data)
            except (requests.ConnectionError, requests.Timeout) as error:
                last_problem = f"{type(error).__name__}: {error}"
            else:
                if 300 <= response.status_code < 400:
                    target = response.headers.get("Location", "")[:200]
                    raise WooError(f"{method} {endpoint}: the store redirected to {target!r} (not followed: "
                                   "reconnect the store under its own address)", status=response.status_code)
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    self._raise(method, endpoint, response)
                last_problem = f"HTTP {response.status_code}: {response.text[:200]}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt == self.attempts:
                break
            backoff = self.backoff_seconds * (2 ** (attempt - 1)) * (1 + random.random() / 4)
            pause = max(backoff, wait or 0.0)
            if pause > self.max_wait_seconds:
                logger.info("woocommerce %s asks to wait %.0fs: giving up for now", self.credentials.store_url, pause)
                break
            logger.info("woocommerce %s %s %s: %s; retrying in %.2fs", self.credentials.store_url, method,
                        endpoint, last_problem, pause)
            self.sleep(pause)
        raise PlatformUnavailable(f"{self.credentials.store_url}: {method} {endpoint}: {last_problem}")

    def _raise(self, method: str, endpoint: str, response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = None
        code = str(body.get("code") or "") if isinstance(body, dict) else ""
        message = str(body.get("message") or "") if isinstance(body, dict) else response.text[:200]
        text = f"{method} {endpoint}: HTTP {response.status_code} {code} {message}".strip()
        data = body.get("data") if isinstance(body, dict) else None
        if response.status_code in (401, 403):
            if self.on_unauthorized is not None:
                self.on_unauthorized(text)
            raise WooAuthError(text, status=response.status_code, code=code, data=data)
        if response.status_code == 404:
            raise WooNotFound(text, status=404, code=code, data=data)
        raise WooError(text, status=response.status_code, code=code, data=data)

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise WooError(f"not JSON: {response.text[:200]!r}", status=response.status_code) from error
