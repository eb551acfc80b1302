"""One pinned Admin API version for the client, the webhooks and the sandbox; a check warns in time."""

from datetime import date

import pytest
from django.core.checks.registry import registry

from integrations import checks
from integrations.shopify import version
from integrations.shopify.client import ShopifyClient
from sandbox.shopify import API_VERSION as SANDBOX_API_VERSION


def test_one_pinned_version_is_current_and_shared():
    assert version.API_VERSION == "2026-10"
    assert SANDBOX_API_VERSION == version.API_VERSION
    client = ShopifyClient(domain="demo-store.myshopify.com", access_token="t")
    assert client.site.endswith(f"/admin/api/{version.API_VERSION}")


def test_support_window_is_twelve_months_from_release():
    assert version.release_date("2026-10") == date(2026, 10, 1)
    assert version.support_end("2026-10") == date(2027, 10, 1)
    assert version.upgrade_due("2026-10") == date(2027, 7, 1)
    assert version.support_end("2025-10") == date(2026, 10, 1)
    with pytest.raises(ValueError):
        version.release_date("2026-11")


@pytest.mark.parametrize("today, expected", [
    (date(2026, 12, 7), []),
    (date(2027, 6, 30), []),
    (date(2027, 7, 1), ["integrations.W001"]),
    (date(2027, 9, 30), ["integrations.W001"]),
    (date(2027, 10, 1), ["integrations.W002"]),
])
def test_check_warns_three_months_before_support_ends(today, expected):
    messages = checks.shopify_api_version_messages(today=today, pinned="2026-10")
    assert [message.id for message in messages] == expected
    assert all(message.is_serious() is False for message in messages)


def test_the_version_the_app_used_before_is_out_of_support_today():
    assert [m.id for m in checks.shopify_api_version_messages(today=date(2026, 12, 7), pinned="2025-10")] == [
        "integrations.W002"]


def test_check_is_registered_and_quiet_today():
    assert checks.shopify_api_version_check in registry.get_checks()
    assert checks.shopify_api_version_messages(today=date(2026, 12, 7)) == []
