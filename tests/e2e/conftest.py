"""Full-pipe fixtures: the Shopify sandbox over real HTTP and the app on a live server."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.db import OperationalError

from sandbox.shopify import ShopifySandbox


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    box = ShopifySandbox(
        api_key=django_settings.SHOPIFY_API_KEY,
        api_secret=django_settings.SHOPIFY_API_SECRET,
        webhook_backoff=0.05,
    )
    box.start(host="127.0.0.1", port=0)
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def app(live_server: Any, sandbox: ShopifySandbox, settings: Any) -> Any:
    """The app on a live server, talking to the sandbox; webhooks come back to it over HTTP."""
    settings.APP_URL = live_server.url
    settings.SHOPIFY_SANDBOX_URL = sandbox.base_url
    sandbox.app_config(privacy_webhook_uri=f"{live_server.url}/webhooks/shopify")
    return live_server


def install(app: Any, domain: str) -> requests.Response:
    """Walk the real OAuth flow: app install -> sandbox authorize -> app callback -> the app's page
    in the (sandbox's) Shopify admin."""
    response = requests.get(f"{app.url}/shopify/install", params={"shop": domain}, timeout=300)
    assert response.status_code == 200, response.text[:500]
    assert f"/shops/{domain}/admin/apps/" in response.url, response.url
    return response


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll the database while the live server processes a webhook.  SQLite's shared-cache test
    database answers "table is locked" (at once, no busy wait) while the server thread writes:
    that reading counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError as error:
            if "locked" not in str(error):
                raise
        time.sleep(0.1)
    return condition()
