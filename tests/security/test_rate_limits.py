"""Rate limits on the shopper endpoints (app proxy): per shop and client IP, per shop and logged-in
shopper.  Past the limit: 429 with Retry-After (seconds) and a JSON error, and the refused request
spends nothing, stores nothing and sends nothing to the store."""

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.core.cache import cache
from playwright.sync_api import Browser, expect

from commerce.models import Customer, Shop
from loyalty.models import LedgerEntry, Program, Redemption, Referral, Reward
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from loyalty.services.referrals import CLAIMS_PER_IP_HOUR, referral_start
from retention_app.throttles import rate_hit
from surveys.models import Response as SurveyResponse
from surveys.models import Survey
from surveys.selectors import survey_list
from tests.browser import needs_chromium
from tests.e2e.conftest import app, install, sandbox  # noqa: F401 (fixtures: the sandbox over real HTTP)
from tests.factories import CustomerFactory, ShopFactory

SECRET = "test-api-secret-with-at-least-32-bytes"
JSON = "application/json"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def signed(domain: str, customer_id: str = "", **extra: str) -> str:
    """An app-proxy query string, signed as Shopify signs it."""
    params = {"shop": domain, "logged_in_customer_id": customer_id, "path_prefix": "/apps/comeback",
              "timestamp": str(int(time.time())), **extra}
    message = "".join(f"{key}={value}" for key, value in sorted(params.items()))
    params["signature"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


def _assert_limited(response: Any, period: int = 60) -> int:
    assert response.status_code == 429, response.content[:300]
    body = response.json()
    assert body["code"] == "rate_limited"
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= period
    assert body["retry_after"] == wait
    return wait


# --- redeem, end to end through the Shopify sandbox ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_redeem_past_the_limit_is_429_and_spends_nothing_and_creates_no_code(app, sandbox, settings):  # noqa: F811
    # given a member with plenty of points and a cheap reward, in a store on the sandbox
    domain = "limited.myshopify.com"
    store = sandbox.add_shop(domain, seed=5, customers=5, orders=5)
    install(app, domain)
    shop = Shop.objects.get(domain=domain)
    program_enable(shop=shop)
    customer = Customer.objects.filter(shop=shop).exclude(email="").first()
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=1000, reason="gift")
    reward = Reward.objects.create(shop=shop, name="Tiny", kind="fixed_amount", points_cost=10, value=1)
    url = f"{app.url}/proxy/loyalty/redeem"
    codes_before = len(store.discount_codes)
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"customer": "3/hour", "ip": "30/minute"}}
    # when the shopper redeems as often as the limit allows
    for _ in range(3):
        made = requests.post(f"{url}?{signed(domain, customer.platform_id)}", json={"reward_id": reward.pk},
                             timeout=30)
        assert made.status_code == 201, made.text
    # then the next one is refused with 429 and Retry-After
    refused = requests.post(f"{url}?{signed(domain, customer.platform_id)}", json={"reward_id": reward.pk},
                            timeout=30)
    _assert_limited(refused, period=3600)
    # and nothing was spent, recorded or created in the store for it
    assert account_balance(account=account).available == 1000 - 3 * 10
    assert Redemption.objects.filter(account=account).count() == 3
    assert LedgerEntry.objects.filter(account=account, kind="redeem").count() == 3
    assert len(store.discount_codes) == codes_before + 3


@needs_chromium
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("locale", "message"), [
    ("en", "Too many attempts. Please try again in a minute."),
    ("he", "יותר מדי ניסיונות. נסו שוב בעוד דקה."),
    ("fa", "تلاش‌ها بیش از حد بود. یک دقیقهٔ دیگر دوباره تلاش کنید."),
])
def test_the_widget_tells_the_shopper_to_wait_in_their_language(browser: Browser, app, sandbox,  # noqa: F811
                                                                settings, locale, message):
    # given a member in a store whose widget talks to the app through the sandbox's signed app proxy
    domain = "widget-limits.myshopify.com"
    sandbox.app_config(app_url=app.url)
    store = sandbox.add_shop(domain, seed=12, customers=5, orders=5)
    install(app, domain)
    shop = Shop.objects.get(domain=domain)
    program_enable(shop=shop)
    customer = Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="gift")
    # and a shopper who has used up their redemptions for this minute
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"customer": "0/minute"}}
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{store.origin}/?customer={customer.platform_id}&locale={locale}")
        page.locator(".cbw-launcher").click()
        # when they redeem
        page.locator(".cbw-reward .cbw-btn").first.click()
        # then the widget says so in their language, and nothing was spent or created
        expect(page.get_by_role("alert")).to_have_text(message)
    finally:
        context.close()
    assert account_balance(account=account).available == 300
    assert not Redemption.objects.exists()
    assert not store.discount_codes


# --- per IP and per shopper (Django test client) ------------------------------------------------


@pytest.fixture
def members(db: Any) -> tuple[Shop, list[Any]]:
    shop = ShopFactory(domain="limits.myshopify.com")
    program_enable(shop=shop)
    accounts = []
    for n in range(4):
        found = CustomerFactory(shop=shop, platform_id=f"c{n}", email=f"c{n}@example.com")
        account = account_for_customer(shop=shop, customer=found)
        entry_write(account=account, kind="adjust", source="admin", key=f"gift-{n}", points=300, reason="gift")
        accounts.append(account)
    return shop, accounts


def _redeem(client: Any, shop: Shop, customer_id: str, reward_id: int, **extra: Any) -> Any:
    return client.post(f"/proxy/loyalty/redeem?{signed(shop.domain, customer_id)}", {"reward_id": reward_id},
                       content_type=JSON, **extra)


def test_one_address_is_limited_across_shoppers_and_a_forged_header_does_not_help(client, members, settings):
    shop, accounts = members
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"ip": "3/minute", "customer": "10/minute"}}
    settings.TRUSTED_PROXIES = []
    # three attempts from one address (for a reward that does not exist: refused, but counted)
    assert [_redeem(client, shop, f"c{n}", 999_999).status_code for n in range(3)] == [404] * 3
    # the fourth, by yet another shopper and with a forged X-Forwarded-For, is refused
    reward = Reward.objects.filter(shop=shop).order_by("points_cost").first()
    refused = _redeem(client, shop, "c3", reward.pk, headers={"X-Forwarded-For": "198.51.100.44"})
    _assert_limited(refused)
    assert not Redemption.objects.exists()
    assert account_balance(account=accounts[3]).available == 300
    # another address is not affected
    other = _redeem(client, shop, "c3", 999_999, REMOTE_ADDR="198.51.100.45")
    assert other.status_code == 404


def test_one_shopper_is_limited_from_any_address(client, members, settings):
    shop, _ = members
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"ip": "100/minute", "customer": "2/minute"}}
    statuses = [_redeem(client, shop, "c1", 999_999, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(3)]
    assert statuses[:2] == [404, 404] and statuses[2] == 429
    # another shopper of the same shop goes on
    assert _redeem(client, shop, "c2", 999_999).status_code == 404


def test_limits_are_per_shop(client, members, settings):
    shop, _ = members
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"ip": "1/minute", "customer": "1/minute"}}
    other = ShopFactory(domain="other-limits.myshopify.com")
    program_enable(shop=other)
    CustomerFactory(shop=other, platform_id="c1", email="c1@example.org")
    assert _redeem(client, shop, "c1", 999_999).status_code == 404
    assert _redeem(client, shop, "c1", 999_999).status_code == 429
    assert _redeem(client, other, "c1", 999_999).status_code == 404


def test_an_unsigned_request_is_401_not_counted(client, members, settings):
    shop, _ = members
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"ip": "1/minute"}}
    for _ in range(3):
        assert client.post("/proxy/loyalty/redeem?shop=limits.myshopify.com", {"reward_id": 1},
                           content_type=JSON).status_code == 401
    assert _redeem(client, shop, "c1", 999_999).status_code == 404


def test_the_default_limits_are_sane(settings):
    limits = settings.SHOPPER_RATE_LIMITS
    assert limits["redeem"] == {"customer": "10/minute", "ip": "30/minute"}
    assert limits["survey_answer"]["ip"] == "20/minute"
    assert set(limits) >= {"redeem", "referral_claim", "referral_lookup", "survey_answer"}


# --- survey answers ------------------------------------------------------------------------------


def test_survey_answers_past_the_limit_are_refused_and_not_stored(client, members):
    shop, accounts = members
    survey_list(shop=shop)  # the presets
    Survey.objects.filter(shop=shop).update(is_active=True)
    nps = Survey.objects.get(shop=shop, key="nps")
    # twenty answers from one address within the minute (to a survey that does not exist)
    for n in range(20):
        response = client.post(f"/proxy/surveys/999999?{signed(shop.domain, f'c{n % 4}')}",
                               {"answers": {"recommend": 9}}, content_type=JSON)
        assert response.status_code in (404, 429)
    refused = client.post(f"/proxy/surveys/{nps.pk}?{signed(shop.domain, 'c0')}", {"answers": {"recommend": 9}},
                          content_type=JSON)
    _assert_limited(refused)
    assert not SurveyResponse.objects.exists()
    assert LedgerEntry.objects.filter(account=accounts[0]).count() == 1  # only the gift


# --- referral claims and lookups -----------------------------------------------------------------


def test_referral_claims_past_the_limit_are_refused_and_record_nothing(client, members):
    shop, accounts = members
    for n in range(10):  # unknown codes: refused, but counted
        response = client.post(f"/proxy/referrals?{signed(shop.domain)}",
                               {"code": f"NOPE{n:04d}", "email": f"friend{n}@example.com"}, content_type=JSON)
        assert response.status_code == 404
    refused = client.post(f"/proxy/referrals?{signed(shop.domain)}",
                          {"code": accounts[0].referral_code, "email": "real.friend@example.com"}, content_type=JSON)
    _assert_limited(refused)
    assert not Referral.objects.exists()


def test_guessing_referral_codes_is_limited(client, members, settings):
    shop, _ = members
    settings.SHOPPER_RATE_LIMITS = {"referral_lookup": {"ip": "5/minute"}}
    statuses = [client.get(f"/proxy/referrals/offer?{signed(shop.domain, code=f'GUESS{n:03d}')}").status_code
                for n in range(5)]
    assert statuses == [404] * 5
    _assert_limited(client.get(f"/proxy/referrals/offer?{signed(shop.domain, code='GUESS999')}"))
    _assert_limited(client.get(f"/proxy/referrals/code?{signed(shop.domain, code='FRIEND-X')}"))


# --- the counter ---------------------------------------------------------------------------------


def test_a_rolling_window_counts_and_says_how_long_to_wait(db):
    start = 60 * 16_667 + 20.0  # any moment; minutes are counted in 10-second slices
    assert [rate_hit(key="t", rate="3/minute", now=start) for _ in range(2)] == [None, None]
    assert rate_hit(key="t", rate="3/minute", now=start + 30) is None
    # the fourth within the minute waits until the first two have left the window
    assert rate_hit(key="t", rate="3/minute", now=start + 45) == 15
    # then two fit again (the refused one did not count), and the next waits for the third to leave
    assert rate_hit(key="t", rate="3/minute", now=start + 60) is None
    assert rate_hit(key="t", rate="3/minute", now=start + 61) is None
    assert rate_hit(key="t", rate="3/minute", now=start + 62) == 28
    # no window edge lets a burst through twice: three just before a minute starts, one just after
    edge = 60 * 20_000 - 1.0
    assert [rate_hit(key="edge", rate="3/minute", now=edge) for _ in range(3)] == [None, None, None]
    assert rate_hit(key="edge", rate="3/minute", now=edge + 2) == 49  # their slice leaves 50 s later
    assert rate_hit(key="other", rate="1/second", now=start) is None


def test_the_referral_rules_hourly_cap_says_when_to_come_back(client, members):
    """The referral rule's own cap (10 claims an hour from one address) is a 429 with Retry-After too."""
    shop, accounts = members
    Program.objects.filter(shop=shop).update(referral_monthly_cap=100, referral_ip_weekly_limit=100)
    for n in range(CLAIMS_PER_IP_HOUR):
        referral_start(shop=shop, code=accounts[0].referral_code, friend_email=f"burst{n}@example.com",
                       ip="127.0.0.1", issue_code=False)
    refused = client.post(f"/proxy/referrals?{signed(shop.domain)}",
                          {"code": accounts[0].referral_code, "email": "one-more@example.com"}, content_type=JSON)
    assert _assert_limited(refused, period=3601) > 3500
    assert Referral.objects.count() == CLAIMS_PER_IP_HOUR


# --- the shopper's address behind Shopify's app proxy --------------------------------------------

SHOPIFY_EGRESS = "192.0.2.10"


def test_referrals_record_the_address_shopify_appended_not_the_shoppers_forgery(client, members, settings):
    shop, accounts = members
    settings.SHOPIFY_APP_PROXY_FORWARDED_FOR = True  # production's default
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]  # our load balancer
    response = client.post(f"/proxy/referrals?{signed(shop.domain)}",
                           {"code": accounts[0].referral_code, "email": "friend@example.com"}, content_type=JSON,
                           REMOTE_ADDR="10.0.0.5",
                           headers={"X-Forwarded-For": f"6.6.6.6, 203.0.113.5, {SHOPIFY_EGRESS}"})
    assert response.status_code == 201, response.content
    assert Referral.objects.get().ip == "203.0.113.5"


def test_shoppers_behind_the_same_shopify_server_are_limited_apart(client, members, settings):
    shop, _ = members
    settings.SHOPIFY_APP_PROXY_FORWARDED_FOR = True
    settings.TRUSTED_PROXIES = []
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"ip": "2/hour"}}

    def redeem_from(shopper: str) -> int:
        return _redeem(client, shop, "c1", 999_999, REMOTE_ADDR=SHOPIFY_EGRESS,
                       headers={"X-Forwarded-For": shopper}).status_code

    assert [redeem_from("203.0.113.5") for _ in range(3)] == [404, 404, 429]
    assert redeem_from("203.0.113.6") == 404  # another shopper, same Shopify server


def test_with_the_cache_away_the_shop_keeps_working(client, members, settings, caplog):
    """Fail open: a Redis outage must not turn redemptions into 500s; it is logged."""
    shop, _ = members
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    settings.SHOPPER_RATE_LIMITS = {"redeem": {"ip": "1/minute", "customer": "1/minute"}}
    assert [_redeem(client, shop, "c1", 999_999).status_code for _ in range(3)] == [404, 404, 404]
    assert "the cache is unavailable" in caplog.text
