"""The storefront widget in a real browser: the sandbox's storefront page embeds the script served by
the app, the widget talks to the app through the sandbox's signed app proxy, and a shopper redeems
points with the keyboard.  Headless Chromium (Debian's ``/usr/bin/chromium``) through Playwright."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from commerce.models import Customer, Shop
from loyalty.models import Account, LedgerEntry, Referral, Reward
from loyalty.services.ledger import account_balance, account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.browser import needs_chromium
from tests.e2e.conftest import install

DOMAIN = "widget.myshopify.com"
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def store(app: Any, sandbox: Any) -> Any:
    """An installed shop with the program on and the app embed switched on."""
    sandbox.app_config(app_url=app.url)
    shop_store = sandbox.add_shop(DOMAIN, seed=12, customers=20, orders=40)
    # the widget as merchants add it: the theme app extension's app embed, rendered with Liquid
    shop_store.app_embed_set(enabled=True, widget_snippet=False)
    install(app, DOMAIN)
    program_enable(shop=Shop.objects.get(domain=DOMAIN))
    return shop_store


@pytest.fixture
def member(store: Any) -> tuple[Customer, Any]:
    shop = Shop.objects.get(domain=DOMAIN)
    customer = Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()
    account = account_for_customer(shop=shop, customer=customer)
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=300, reason="welcome gift")
    return customer, account


def tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus (the keyboard path a shopper would take)."""
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def focused_class(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.className"))


def screenshot(page: Page, path: Path) -> Path:
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


@needs_chromium
def test_member_redeems_a_reward_with_the_keyboard(page: Page, store: Any, member: Any, tmp_path: Path) -> None:
    customer, account = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    launcher = page.locator(".cbw-launcher")
    expect(launcher).to_contain_text("300")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert page.locator(".cbw").get_attribute("dir") == "ltr"
    box = launcher.bounding_box()
    assert box is not None and box["x"] > VIEWPORT["width"] / 2, box

    tab_to(page, launcher)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Rewards")
    expect(dialog).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert launcher.get_attribute("aria-controls") == dialog.get_attribute("id")
    assert dialog.evaluate("el => el.contains(document.activeElement)"), "focus moves into the panel"
    balance = dialog.locator("[data-cbw=balance]")
    expect(balance).to_contain_text("300")
    expect(balance).to_contain_text("Next tier: Silver")  # a new account starts in the first tier
    expect(dialog.locator(".cbw-referral input")).to_have_value(re.compile(r"\?ref=\w+"))

    redeem = dialog.get_by_role("button", name="Redeem 5 off your order")
    tab_to(page, redeem)
    page.keyboard.press("Enter")
    code_box = dialog.locator("[data-cbw=code]")
    expect(code_box).to_have_text(re.compile(r"^CB-[A-Z0-9]{10}$"), timeout=20_000)
    code = code_box.inner_text()
    assert "cbw-issued" in focused_class(page), "focus lands on the new code"
    expect(dialog.get_by_role("button", name=f"Copy {code}").first).to_be_visible()

    assert code in [c.code for c in store.discount_codes]
    expect(balance).to_contain_text("200")
    expect(launcher).to_contain_text("200")
    assert account_balance(account=account).available == 200
    expect(dialog.locator(".cbw-codes")).to_contain_text(code)
    expect(dialog.locator(".cbw-history")).to_contain_text("5 off your order")
    expect(page.get_by_role("alert")).to_be_hidden()
    screenshot(page, tmp_path / "widget-en.png")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert "cbw-launcher" in focused_class(page), "Escape returns the focus to the launcher"


@needs_chromium
def test_a_shoppers_first_visit_opens_their_account_with_a_referral_link(page: Page, store: Any) -> None:
    # given a logged-in shopper the store has sent us, with no loyalty account yet
    shop = Shop.objects.get(domain=DOMAIN)
    customer = (Customer.objects.filter(shop=shop).exclude(email="")
                .exclude(pk__in=Account.objects.filter(shop=shop).values("customer_id")).order_by("pk").first())
    assert customer is not None
    # when they open the store: the widget reads (which opens nothing), then joins with a POST
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    page.locator(".cbw-launcher").click()
    dialog = page.get_by_role("dialog", name="Rewards")
    referral = dialog.locator(".cbw-referral input")
    expect(referral).to_have_value(re.compile(r"\?ref=\w+"))
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("Next tier")
    # then their account is open, once, and the link carries its code
    account = Account.objects.get(shop=shop, customer=customer)
    assert referral.input_value().endswith(f"?ref={account.referral_code}")


@needs_chromium
def test_a_refused_redemption_is_announced_and_costs_nothing(page: Page, store: Any, member: Any) -> None:
    customer, account = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    page.locator(".cbw-launcher").click()
    dialog = page.get_by_role("dialog", name="Rewards")
    redeem = dialog.get_by_role("button", name="Redeem 5 off your order")
    expect(redeem).to_be_visible()
    expect(dialog).not_to_have_attribute("aria-busy", "true")  # opening reloads the state
    # the merchant raises the price while the panel is open: the app refuses (409)
    Reward.objects.filter(shop__domain=DOMAIN, name="5 off your order").update(points_cost=1000)
    redeem.click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("You don't have enough points for this reward yet.")
    expect(dialog.get_by_role("button", name="Redeem 5 off your order")).to_have_count(0)
    expect(dialog.locator(".cbw-reward", has_text="5 off your order")).to_contain_text("700 more points")
    assert account_balance(account=account).available == 300
    assert not store.discount_codes


@needs_chromium
@pytest.mark.parametrize(("locale", "label", "available"), [
    ("he", "מועדון הטבות", "300"),
    ("fa", "باشگاه مشتریان", "۳۰۰"),  # Intl writes Persian digits for fa
], ids=["he", "fa"])
def test_right_to_left_locales(page: Page, store: Any, member: Any, tmp_path: Path, locale: str, label: str,
                               available: str) -> None:
    customer, _ = member
    page.goto(f"{store.origin}/?customer={customer.platform_id}&locale={locale}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    root = page.locator(".cbw")
    launcher = page.locator(".cbw-launcher")
    expect(launcher).to_contain_text(label)
    expect(root).to_have_attribute("dir", "rtl")
    expect(root).to_have_attribute("lang", locale)
    expect(launcher).to_contain_text(available)
    box = launcher.bounding_box()
    assert box is not None and box["x"] + box["width"] < VIEWPORT["width"] / 2, f"launcher on the left: {box}"

    launcher.click()
    dialog = page.get_by_role("dialog", name=label)
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text(available)
    panel_box = dialog.bounding_box()
    assert panel_box is not None and panel_box["x"] < VIEWPORT["width"] / 2, panel_box
    if locale == "he":
        expect(dialog).to_contain_text("נקודות זמינות")
        expect(dialog.get_by_role("button", name=re.compile("^מימוש")).first).to_be_visible()
    else:
        expect(dialog).to_contain_text("امتیاز قابل استفاده")
        expect(dialog.get_by_role("button", name=re.compile("^دریافت")).first).to_be_visible()
    screenshot(page, tmp_path / f"widget-{locale}.png")


@needs_chromium
def test_logged_out_shopper_sees_the_pitch_and_a_login_link(page: Page, store: Any, member: Any,
                                                            tmp_path: Path) -> None:
    page.goto(f"{store.origin}/")
    launcher = page.get_by_role("button", name="Rewards", exact=True)
    expect(launcher).to_be_visible()
    expect(page.locator(".cbw-badge")).to_have_count(0)
    launcher.click()
    dialog = page.get_by_role("dialog", name="Rewards")
    expect(dialog.locator("[data-cbw=pitch]")).to_contain_text("Join our rewards program")
    expect(dialog).to_contain_text("Earn 1 point for every $1 you spend.")
    expect(dialog).to_contain_text("5 off your order")
    expect(dialog).to_contain_text("Tiers: Bronze · Silver · Gold")
    expect(dialog.locator("[data-cbw=balance]")).to_have_count(0)
    expect(dialog.get_by_role("button", name=re.compile("^Redeem"))).to_have_count(0)
    login = dialog.get_by_role("link", name="Log in or create an account")
    assert "/account/login" in (login.get_attribute("href") or "")
    screenshot(page, tmp_path / "widget-guest.png")
    # the sandbox's login page stands in for the shop's: log in, come back to the store, see the points
    login.click()
    page.get_by_label("Customer id").fill(member[0].platform_id)
    page.get_by_label("Customer id").press("Enter")
    expect(page.locator(".cbw-launcher")).to_contain_text("300")


def test_widget_files_are_served_cacheable_and_nothing_else(client: Any) -> None:
    script = client.get("/storefront/comeback-widget.js")
    assert script.status_code == 200
    assert script["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age=86400" in script["Cache-Control"]
    assert b"ComebackWidget" in b"".join(script.streaming_content)
    again = client.get("/storefront/comeback-widget.js", HTTP_IF_MODIFIED_SINCE=script["Last-Modified"])
    assert again.status_code == 304
    versioned = client.get("/storefront/comeback-widget.css?v=3")
    assert versioned["Content-Type"] == "text/css; charset=utf-8"
    assert "immutable" in versioned["Cache-Control"]
    for other in ("views.py", "README.md", "../manage.py", "__init__.py"):
        assert client.get(f"/storefront/{other}").status_code == 404, other
    sizes = sum((Path(__file__).resolve().parents[2] / "storefront" / name).stat().st_size
                for name in ("comeback-widget.js", "comeback-widget.css"))
    # no framework, no build step: small enough to read (loyalty, referrals, surveys, ways to earn, tier
    # progress and the designer's settings; about 15 kB gzipped)
    assert sizes < 60_000


@pytest.fixture
def referrer(store: Any, member: tuple[Customer, Any]) -> tuple[Customer, Any]:
    customer, account = member
    Customer.objects.filter(pk=customer.pk).update(first_name="Dana", last_name="Levi")
    return customer, account


def referral_link(page: Page, store: Any, customer: Customer) -> str:
    """The referrer copies their link from their own widget."""
    page.goto(f"{store.origin}/?customer={customer.platform_id}")
    page.locator(".cbw-launcher").click()
    link = page.get_by_role("dialog").locator(".cbw-referral input").input_value()
    page.goto(f"{store.origin}/account/logout")
    return link


@needs_chromium
def test_a_friend_opens_the_referral_link_gets_a_code_orders_with_it_and_the_referrer_earns_once(
        page: Page, browser: Browser, store: Any, sandbox: Any, referrer: Any, tmp_path: Path) -> None:
    customer, account = referrer
    link = referral_link(page, store, customer)
    # the link is the shop's storefront (the sandbox's own origin), built by the platform adapter
    assert link == f"{store.origin}/?ref={account.referral_code}"
    friend = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce").new_page()
    friend.set_default_timeout(10_000)

    # given a friend (a guest) who opens the link: the panel opens with the offer
    friend.goto(link)
    dialog = friend.get_by_role("dialog", name="Rewards")
    expect(dialog).to_be_visible()
    offer = dialog.locator("[data-cbw=invite]")
    expect(offer).to_contain_text("Dana invited you")
    expect(offer).to_contain_text("Get 10% off your first order.")
    expect(offer).not_to_contain_text("Levi")
    expect(offer).not_to_contain_text(str(customer.email))
    # a bad email is refused in the page, nothing recorded
    friend.get_by_label("Your email").fill("noa@")
    friend.get_by_role("button", name="Get my code").click()
    expect(friend.get_by_role("alert")).to_have_text("Please enter a valid email address.")
    assert not Referral.objects.exists()

    # when the friend gives an email
    friend.get_by_label("Your email").fill("Noa.Friend@example.com")
    friend.get_by_role("button", name="Get my code").click()
    code_box = dialog.locator("[data-cbw=friend-code]")
    expect(code_box).to_contain_text(re.compile(r"FRIEND-[A-Z0-9]{8}"), timeout=20_000)
    code = re.search(r"FRIEND-[A-Z0-9]{8}", code_box.inner_text()).group(0)  # type: ignore[union-attr]
    expect(code_box).to_contain_text("Enter it at checkout")
    expect(friend.get_by_role("alert")).to_be_hidden()
    # then the code is a real single-use code in the store, and the referral is pending
    made = next(c for c in store.discount_codes if c.code == code)
    assert made.usage_limit == 1
    referral = Referral.objects.get()
    assert (referral.status, referral.friend_email, referral.friend_code, referral.referrer_id) == (
        "pending", "noa.friend@example.com", code, account.pk)
    apply = dialog.get_by_role("link", name="Apply it to my cart")
    assert apply.get_attribute("href") == f"{store.origin}/discount/{code}?redirect=%2F"

    # the code is remembered on the way to checkout: the store keeps it for checkout (Shopify's
    # /discount/<code> link), and the widget on the next page still shows it (no ?ref any more)
    apply.click()
    expect(friend.get_by_role("status").filter(has_text="will be applied at checkout")).to_contain_text(code)
    assert "ref=" not in friend.url
    friend.locator(".cbw-launcher").click()
    expect(friend.get_by_role("dialog").locator("[data-cbw=friend-code]")).to_contain_text(code)

    # when the friend orders with the code, and every webhook of it is delivered twice
    new = store.create_customer(first_name="Noa", last_name="Friend", email="noa.friend@example.com")
    sandbox.webhooks.wait_idle(15)
    sandbox.webhooks.duplicate_next(10)
    order = store.place_order(customer_id=new.id, discount_code=code)
    sandbox.webhooks.wait_idle(15)
    assert [c["code"] for c in store.order_json(order.id)["discount_codes"]] == [code]

    # then the referral is completed and the referrer earned exactly once (pending for the return window)
    referral.refresh_from_db()
    assert referral.status == "completed", referral.reasons
    assert referral.friend_order is not None and referral.friend_order.platform_id == str(order.id)
    earned = LedgerEntry.objects.filter(account=account, idempotency_key__startswith="referral:")
    assert [(e.points, e.idempotency_key) for e in earned] == [(200, f"referral:{referral.pk}:referrer")]
    assert account_balance(account=account).pending == 200
    # and the friend's widget no longer offers the used code
    friend.goto(f"{store.origin}/")
    friend.locator(".cbw-launcher").click()
    expect(friend.get_by_role("dialog").locator("[data-cbw=pitch]")).to_be_visible()
    expect(friend.locator("[data-cbw=friend-code]")).to_have_count(0)
    friend.context.close()


@needs_chromium
@pytest.mark.parametrize(("locale", "invited", "offer", "button", "used"), [
    ("he", "הוזמנת על ידי Dana", "קבלו 10% הנחה על ההזמנה הראשונה.", "לקבלת הקוד", "הזינו אותו בקופה"),
    ("fa", "Dana شما را دعوت کرده است", "۱۰٪ تخفیف برای نخستین خریدتان بگیرید.", "دریافت کد", "هنگام پرداخت"),
], ids=["he", "fa"])
def test_the_friend_sees_the_offer_in_their_language(page: Page, store: Any, referrer: Any, locale: str,
                                                     invited: str, offer: str, button: str, used: str) -> None:
    _, account = referrer
    page.goto(f"{store.origin}/?ref={account.referral_code}&locale={locale}")
    invite = page.locator("[data-cbw=invite]")
    expect(invite).to_be_visible()
    expect(invite).to_contain_text(invited)
    expect(invite).to_contain_text(offer)
    expect(page.get_by_role("button", name=button)).to_be_visible()
    assert page.locator(".cbw").get_attribute("dir") == "rtl"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, SCREENSHOTS / f"widget-referral-{locale}.png")
    # the code, with how to use it, in the same language; the code itself reads left to right
    invite.locator("input[type=email]").fill(f"friend-{locale}@example.com")
    page.get_by_role("button", name=button).click()
    code_box = page.locator("[data-cbw=friend-code]")
    expect(code_box).to_contain_text(used, timeout=20_000)
    assert code_box.locator(".cbw-code").get_attribute("dir") == "ltr"
    screenshot(page, SCREENSHOTS / f"widget-referral-code-{locale}.png")


@needs_chromium
def test_a_logged_in_friend_gets_a_code_for_their_own_account_without_typing_an_email(
        page: Page, store: Any, sandbox: Any, referrer: Any) -> None:
    _, account = referrer
    new = store.create_customer(first_name="Avi", last_name="Mizrahi", email="avi@example.com")
    sandbox.webhooks.wait_idle(15)  # the app knows the new customer (customers/create)
    page.goto(f"{store.origin}/?customer={new.id}")  # logged in, no order yet
    page.goto(f"{store.origin}/?ref={account.referral_code}")
    invite = page.locator("[data-cbw=invite]")
    expect(invite).to_contain_text("Dana invited you")
    expect(invite.get_by_label("Your email")).to_have_count(0)
    invite.get_by_role("button", name="Get my code").click()
    code_box = page.locator("[data-cbw=friend-code]")
    expect(code_box).to_contain_text(re.compile(r"FRIEND-[A-Z0-9]{8}"), timeout=20_000)
    referral = Referral.objects.get()
    assert (referral.friend_email, referral.status) == ("avi@example.com", "pending")
    # the code in the store is this customer's alone
    made = next(c for c in store.discount_codes if c.code == referral.friend_code)
    assert made.customer_ids() == {new.id}
