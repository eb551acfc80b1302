"""The plugin in a real WordPress, used as a shopper and a merchant would: over HTTP, through
wp-login.php, the storefront page's widget mount point and the plugin's REST routes, on to the
app on a live server, which answers from what it holds for that store and customer."""

import hashlib
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from commerce.models import Customer
from integrations.woocommerce.models import WooConnection
from tests.loyalty.helpers import customer
from tests.wordpress.conftest import Store, member, widget_mount

pytestmark = pytest.mark.django_db(transaction=True)


def page_widget(session: requests.Session, store: Store) -> dict[str, str]:
    response = session.get(f"{store.site.url}/", timeout=30)
    assert response.status_code == 200
    assert f"src='{store.app_url}/storefront/comeback-widget.js'" in response.text.replace('"', "'")
    return widget_mount(response.text)


def test_a_logged_in_shopper_sees_their_balance_through_the_plugin(store: Store) -> None:
    member(store)
    shopper = store.site.login("dana", store.shopper_password)
    mount = page_widget(shopper, store)
    assert mount["data-endpoint"] == f"{store.site.url}/wp-json/comeback/v1"
    assert mount["data-customer-id"] == str(store.shopper_id) and mount["data-shop"] == store.shop.domain
    assert mount["data-css"] == f"{store.app_url}/storefront/comeback-widget.css"

    response = shopper.get(f"{mount['data-endpoint']}/loyalty?locale=he",
                           headers={"X-WP-Nonce": mount["data-nonce"], "Accept": "application/json"}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert "no-cache" in response.headers["Cache-Control"]
    state = response.json()
    assert state["logged_in"] is True
    assert state["balance"] == {"available": 120, "pending": 0}
    assert store.site.plugin_problems() == []


def test_a_guest_sees_the_program_and_the_sign_in_prompt(store: Store) -> None:
    member(store)
    guest = requests.Session()
    mount = page_widget(guest, store)
    assert mount["data-customer-id"] == ""
    assert "wp-login.php" in mount["data-login-url"]
    response = guest.get(f"{mount['data-endpoint']}/loyalty", headers={"X-WP-Nonce": mount["data-nonce"]},
                         timeout=30)
    state = response.json()
    assert state["logged_in"] is False and "balance" not in state
    assert "no-cache" in response.headers["Cache-Control"]  # a page cache keeps no shopper's answer
    assert [reward["points_cost"] for reward in state["rewards"]] == [100, 150, 250]


@pytest.mark.parametrize("nonce", [None, "forged0000", "0"])
def test_a_missing_or_forged_nonce_is_a_guest_not_the_cookies_user(store: Store, nonce: str | None) -> None:
    member(store)
    shopper = store.site.login("dana", store.shopper_password)
    headers = {} if nonce is None else {"X-WP-Nonce": nonce}
    response = shopper.get(f"{store.site.url}/wp-json/comeback/v1/loyalty", headers=headers, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["logged_in"] is False


def test_a_shopper_cannot_name_another_customer_or_shop(store: Store) -> None:
    member(store)
    guest = requests.Session()
    mount = page_widget(guest, store)
    query = f"logged_in_customer_id={store.shopper_id}&shop=other.example&platform=shopify&signature=00&timestamp=1"
    response = guest.get(f"{mount['data-endpoint']}/loyalty?{query}", headers={"X-WP-Nonce": mount["data-nonce"]},
                         timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["logged_in"] is False


def test_a_post_with_its_json_body_goes_through(store: Store) -> None:
    """The widget's join call (POST /loyalty) opens the logged-in shopper's account."""
    customer(store.shop, str(store.shopper_id), store.shopper_email)
    shopper = store.site.login("dana", store.shopper_password)
    mount = page_widget(shopper, store)
    headers = {"X-WP-Nonce": mount["data-nonce"], "Accept": "application/json"}
    response = shopper.post(f"{mount['data-endpoint']}/loyalty?locale=fa", headers=headers, json={}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["logged_in"] is True
    # A guest's POST gets the app's own refusal, status and body as the app wrote them.
    guest = requests.post(f"{mount['data-endpoint']}/loyalty", json={}, timeout=30)
    assert guest.status_code == 403 and guest.json()["code"] == "login_required"


def test_plain_permalinks_reach_the_routes_through_rest_route(store: Store) -> None:
    member(store)
    store.site.tool("permalinks", "")
    try:
        shopper = store.site.login("dana", store.shopper_password)
        mount = page_widget(shopper, store)
        assert mount["data-endpoint"].endswith("?rest_route=/comeback/v1")
        # The widget's path goes inside rest_route and its own query after "&".
        response = shopper.get(f"{mount['data-endpoint']}/loyalty&locale=en",
                               headers={"X-WP-Nonce": mount["data-nonce"]}, timeout=30)
        assert response.status_code == 200, response.text[:500]
        assert response.json()["balance"]["available"] == 120
    finally:
        store.site.tool("permalinks", "/%postname%/")


def test_a_store_not_connected_shows_no_widget_and_its_routes_say_so(store: Store) -> None:
    store.site.options(comeback_secret=None)
    page = requests.get(f"{store.site.url}/", timeout=30).text
    assert "data-comeback-widget" not in page and "comeback-widget.js" not in page
    response = requests.get(f"{store.site.url}/wp-json/comeback/v1/loyalty", timeout=30)
    assert response.status_code == 503 and response.json()["code"] == "not_connected"


def test_a_wrong_secret_is_refused_by_the_app(store: Store) -> None:
    store.site.options(comeback_secret="not-the-shops-secret")
    response = requests.get(f"{store.site.url}/wp-json/comeback/v1/loyalty", timeout=30)
    assert response.status_code == 401


def admin(store: Store) -> requests.Session:
    _id, password = store.site.user("owner", "administrator", "owner@example.com")
    return store.site.login("owner", password)


def test_the_comeback_menu_opens_the_dashboard_logged_in_once(store: Store) -> None:
    merchant = admin(store)
    response = merchant.get(f"{store.site.url}/wp-admin/admin.php?page=comeback", allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:500]
    link = response.headers["Location"]
    assert link.startswith(f"{store.app_url}/woocommerce/admin?")
    query = parse_qs(urlsplit(link).query)
    assert query["shop"] == [store.shop.domain] and query["email"] == ["owner@example.com"]

    browser = requests.Session()  # the merchant's browser on the app: no session yet
    landed = browser.get(link, timeout=30)
    assert landed.status_code == 200 and urlsplit(landed.url).path.startswith("/dashboard/"), landed.url
    assert requests.get(link, timeout=30, allow_redirects=False).status_code == 401  # single use

    # A shopper may not open it.
    shopper = store.site.login("dana", store.shopper_password)
    refused = shopper.get(f"{store.site.url}/wp-admin/admin.php?page=comeback", allow_redirects=False, timeout=30)
    assert refused.status_code == 403 or "woocommerce/admin" not in refused.headers.get("Location", "")


def connect_state(merchant: requests.Session, store: Store) -> str:
    """Click "Connect to Comeback" on the settings page; the state in the return URL it sends."""
    page = merchant.get(f"{store.site.url}/wp-admin/admin.php?page=comeback-settings", timeout=30).text
    form = page[page.index('value="comeback_connect"'):]
    nonce = form.split('name="_wpnonce" value="', 1)[1].split('"', 1)[0]
    response = merchant.post(f"{store.site.url}/wp-admin/admin-post.php",
                             data={"action": "comeback_connect", "_wpnonce": nonce}, allow_redirects=False,
                             timeout=30)
    assert response.status_code == 302, response.text[:300]
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{store.app_url}/woocommerce/connect"
    query = parse_qs(location.query)
    assert query["store_url"] == [store.site.url]
    return_url = urlsplit(query["return_url"][0])
    assert return_url.path == "/wp-admin/admin.php"
    return parse_qs(return_url.query)["comeback_state"][0]


def claim_code(store: Store) -> str:
    """What the app does when WooCommerce sends the merchant back: a single-use claim code."""
    code = "code-" + store.secret[:24]
    WooConnection.objects.filter(shop=store.shop).update(
        claim_code_hash=hashlib.sha256(code.encode()).hexdigest(),
        claim_expires_at=timezone.now() + timedelta(minutes=10), claimed_at=None)
    return code


def test_connecting_from_the_settings_page_claims_the_shops_secret(store: Store) -> None:
    store.site.options(comeback_connection=None, comeback_secret=None)
    merchant = admin(store)
    state = connect_state(merchant, store)
    code = claim_code(store)

    back = merchant.get(f"{store.site.url}/wp-admin/admin.php",
                        params={"page": "comeback-settings", "comeback_state": state, "comeback_code": code},
                        timeout=30)
    assert back.status_code == 200 and "comeback_notice=connected" in back.url, back.url
    assert store.shop.domain in back.text  # "Connected to <shop>"
    assert store.site.option("comeback_secret") == store.secret
    connection = store.site.option("comeback_connection")
    assert connection["shop"] == store.shop.domain
    assert connection["widget_script"] == f"{store.app_url}/storefront/comeback-widget.js"
    # The widget is on the store now, and its route answers.
    assert "data-comeback-widget" in requests.get(f"{store.site.url}/", timeout=30).text
    assert requests.get(f"{store.site.url}/wp-json/comeback/v1/loyalty", timeout=30).status_code == 200


def test_a_return_without_this_browsers_state_claims_nothing(store: Store) -> None:
    """A crafted link (someone else's code) must not connect the store to their shop."""
    store.site.options(comeback_connection=None, comeback_secret=None)
    merchant = admin(store)
    connect_state(merchant, store)
    code = claim_code(store)
    back = merchant.get(f"{store.site.url}/wp-admin/admin.php",
                        params={"page": "comeback-settings", "comeback_state": "guessed", "comeback_code": code},
                        timeout=30)
    assert "comeback_notice=stale" in back.url
    assert store.site.option("comeback_secret") is None


def test_disconnect_removes_the_widget(store: Store) -> None:
    merchant = admin(store)
    page = merchant.get(f"{store.site.url}/wp-admin/admin.php?page=comeback-settings", timeout=30).text
    assert store.shop.domain in page
    form = page[page.index('value="comeback_disconnect"'):]
    nonce = form.split('name="_wpnonce" value="', 1)[1].split('"', 1)[0]
    # Without the nonce: refused.
    assert merchant.post(f"{store.site.url}/wp-admin/admin-post.php", data={"action": "comeback_disconnect"},
                         timeout=30).status_code in (403, 400)
    assert store.site.option("comeback_secret") == store.secret
    merchant.post(f"{store.site.url}/wp-admin/admin-post.php",
                  data={"action": "comeback_disconnect", "_wpnonce": nonce}, timeout=30)
    assert store.site.option("comeback_secret") is None
    assert "data-comeback-widget" not in requests.get(f"{store.site.url}/", timeout=30).text


def privacy(store: Store, action: str, email: str) -> Any:
    return json.loads(store.site.tool("privacy", action, email))


def test_wordpress_privacy_tools_export_and_erase_what_the_app_holds(store: Store) -> None:
    member(store)
    exported = privacy(store, "export", store.shopper_email)
    assert exported["done"] is True
    values = [field["value"] for item in exported["data"] for field in item["data"]]
    assert store.shopper_email in values
    assert all({"group_id", "group_label", "item_id", "data"} <= set(item) for item in exported["data"])

    erased = privacy(store, "erase", store.shopper_email)
    assert erased["items_removed"] is True and erased["done"] is True
    assert not Customer.objects.filter(shop=store.shop, email__iexact=store.shopper_email).exists()
    assert store.site.plugin_problems() == []


@pytest.mark.parametrize(("locale", "title", "tag"), [("he_IL", "הגדרות Comeback", "he-IL"),
                                                      ("fa_IR", "تنظیمات Comeback", "fa-IR")])
def test_a_hebrew_or_persian_store_gets_the_plugin_and_the_widget_in_its_language(
    store: Store, locale: str, title: str, tag: str
) -> None:
    store.site.options(WPLANG=locale)
    try:
        merchant = admin(store)
        page = merchant.get(f"{store.site.url}/wp-admin/admin.php?page=comeback-settings", timeout=30).text
        assert title in page and 'dir="rtl"' in page  # WordPress's own Hebrew/Persian: right to left
        mount = page_widget(requests.Session(), store)
        assert mount["data-locale"] == tag
    finally:
        store.site.options(WPLANG=None)


def test_a_coupon_link_without_woocommerce_just_drops_the_parameter(store: Store) -> None:
    """WooCommerce (not packaged by Debian) applies the code; without it the shopper still lands
    on the page they asked for, without the code in its address."""
    response = requests.get(f"{store.site.url}/sample-page/?comeback_coupon=SAVE10&utm_source=email",
                            allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{store.site.url}/sample-page/?utm_source=email"
    assert store.site.plugin_problems() == []


def test_changing_the_app_address_in_the_settings_disconnects(store: Store) -> None:
    """A staging app is another app: the shop's secret is not its, so the store reconnects."""
    merchant = admin(store)
    page = merchant.get(f"{store.site.url}/wp-admin/admin.php?page=comeback-settings", timeout=30).text
    form = page[page.index("name='option_page' value='comeback'"):]
    nonce = form.split('name="_wpnonce" value="', 1)[1].split('"', 1)[0]

    def save(url: str) -> str:
        response = merchant.post(f"{store.site.url}/wp-admin/options.php", data={
            "option_page": "comeback", "action": "update", "_wpnonce": nonce,
            "_wp_http_referer": "/wp-admin/admin.php?page=comeback-settings", "comeback_app_url": url,
        }, timeout=30)
        assert response.status_code == 200, response.text[:300]
        return response.text

    save("javascript:alert(1)")
    assert store.site.option("comeback_app_url") == store.app_url and store.site.option("comeback_secret")
    saved = save("https://staging.comeback.example.com/")
    assert store.site.option("comeback_app_url") == "https://staging.comeback.example.com"
    assert store.site.option("comeback_secret") is None
    assert "connect the store again" in saved


def test_only_widget_shaped_paths_are_forwarded(store: Store) -> None:
    for path in ("loyalty%2F..%2F..%2Fdashboard", "loyalty/../admin", "..", "loyalty.json", "a//b"):
        response = requests.get(f"{store.site.url}/?rest_route=/comeback/v1/{path}", timeout=30)
        assert response.status_code == 404, (path, response.text[:200])
        assert response.json()["code"] == "rest_no_route"


def test_deleting_the_plugin_forgets_the_connection(store: Store) -> None:
    store.site.tool("uninstall")
    try:
        for name in ("comeback_app_url", "comeback_connection", "comeback_secret"):
            assert store.site.option(name) is None, name
    finally:
        store.site.tool("setup")
