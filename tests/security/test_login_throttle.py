"""Login throttling (django-axes): after 5 wrong passwords for one username from one address, that
username is refused from that address, even with the right password, on the dashboard's login and
the admin's; a forged X-Forwarded-For does not get round it.  The page says so in the shopper's
language with a 429 and Retry-After."""

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from tests.factories import ShopFactory, UserFactory

DASHBOARD = "/dashboard/login/"
ADMIN = "/admin/login/"
LIMIT = 5


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dana(db: Any) -> Any:
    user = UserFactory(username="dana", is_staff=True, is_superuser=True)
    membership_grant(user=user, shop=ShopFactory(name="Alpha"), role=MembershipRole.OWNER)
    return user


def _login(client: Client, url: str, password: str, username: str = "dana", **extra: Any) -> Any:
    return client.post(url, {"username": username, "password": password, "next": "/dashboard/flows/"}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _fail(client: Client, url: str, times: int, **extra: Any) -> list[int]:
    return [_login(client, url, f"wrong-{n}", **extra).status_code for n in range(times)]


@pytest.mark.parametrize("url", [DASHBOARD, ADMIN])
def test_the_right_password_works_before_any_lockout(client, dana, url):
    response = _login(client, url, "password")
    assert response.status_code == 302
    assert _logged_in(client)


@pytest.mark.parametrize("url", [DASHBOARD, ADMIN])
def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, dana, url):
    # given four wrong passwords, answered with the form again
    assert _fail(client, url, LIMIT - 1) == [200] * (LIMIT - 1)
    # when the fifth is wrong too, the pair is locked out
    assert _login(client, url, "wrong-again").status_code == 429
    # then the right password is refused with 429 and nobody is logged in
    refused = _login(client, url, "password")
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(15 * 60)
    assert "Too many login attempts" in refused.content.decode()
    assert f'href="{url}"' in refused.content.decode()  # back to the login page it came from
    assert not _logged_in(client)
    assert AccessAttempt.objects.get(username="dana").failures_since_start >= LIMIT


def test_forty_wrong_passwords_then_the_right_one_is_refused(client, dana):
    """The issue's probe: 40 wrong dashboard passwords, then the right one."""
    statuses = _fail(client, DASHBOARD, 40)
    assert statuses[:LIMIT - 1] == [200] * (LIMIT - 1) and set(statuses[LIMIT - 1:]) == {429}
    assert _login(client, DASHBOARD, "password").status_code == 429
    assert not _logged_in(client)


def test_a_forged_forwarded_header_does_not_escape_the_lockout(client, dana, settings):
    settings.TRUSTED_PROXIES = []
    _fail(client, DASHBOARD, LIMIT)
    for forged in ("198.51.100.1", "198.51.100.2, 198.51.100.3"):
        response = _login(client, DASHBOARD, "password", headers={"X-Forwarded-For": forged})
        assert response.status_code == 429
    assert not _logged_in(client)


def test_behind_a_trusted_proxy_each_shopper_address_counts_alone(dana, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    attacker, merchant = Client(REMOTE_ADDR="10.0.0.5"), Client(REMOTE_ADDR="10.0.0.5")
    _fail(attacker, DASHBOARD, LIMIT, headers={"X-Forwarded-For": "203.0.113.66"})
    assert _login(attacker, DASHBOARD, "password", headers={"X-Forwarded-For": "203.0.113.66"}).status_code == 429
    # the merchant behind the same load balancer, from her own address, still logs in
    assert _login(merchant, DASHBOARD, "password", headers={"X-Forwarded-For": "198.51.100.20"}).status_code == 302
    assert _logged_in(merchant)


def test_the_lockout_is_per_username(client, dana):
    UserFactory(username="eli")
    _fail(client, DASHBOARD, LIMIT)
    assert _login(client, DASHBOARD, "password", username="eli").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, dana):
    _fail(client, DASHBOARD, LIMIT)
    assert _login(client, DASHBOARD, "password").status_code == 429
    # when the cool-off has passed since the last attempt
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    # then the right password works again
    assert _login(client, DASHBOARD, "password").status_code == 302
    assert _logged_in(client)


@pytest.mark.parametrize("language, text", [("en", "Please try again in 15 minutes."),
                                            ("he", "אפשר לנסות שוב בעוד 15 דקות."),
                                            ("fa", "لطفاً 15 دقیقهٔ دیگر دوباره تلاش کنید.")])
def test_the_locked_out_page_speaks_the_merchants_language(client, dana, language, text):
    _fail(client, DASHBOARD, LIMIT)
    response = _login(client, DASHBOARD, "password", headers={"Accept-Language": language})
    assert response.status_code == 429
    html = response.content.decode()
    assert text in html
    assert f'lang="{language}"' in html


def test_operators_see_and_clear_lockouts_in_the_admin(client, dana):
    _fail(Client(REMOTE_ADDR="198.51.100.9"), DASHBOARD, LIMIT)
    client.force_login(dana)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert "198.51.100.9" in page.content.decode()
