"""The theme app extension's app embed on the sandbox storefront: the block in
extensions/comeback-widget is rendered with a real Liquid engine (python-liquid) once the merchant
switches it on, with the logged-in customer, the page's locale, the shop and the merchant's
settings; its assets are served as Shopify's CDN serves them; and in Chromium the widget loads from
the rendered block and talks to the app through the signed app proxy."""

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from commerce.models import Customer, Shop
from integrations.shopify.theme_extension import EXTENSION_DIR, app_embed_editor_url
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from sandbox.shopify import ShopifySandbox
from sandbox.shopify.theme import DEFAULT_EXTENSION, ThemeExtension
from tests.browser import needs_chromium
from tests.e2e.conftest import app, install, sandbox  # noqa: F401 - fixtures shared with the e2e tests

DOMAIN = "embed.myshopify.com"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def mount(page_html: str) -> dict[str, str]:
    """The attributes of the block's mount point, unescaped."""
    match = re.search(r"<div\s+id=\"comeback-widget\"(.*?)></div>", page_html, re.S)
    assert match, "the page has the app embed's mount point"
    return {k: html.unescape(v) for k, v in re.findall(r'(data-[\w-]+)(?:="([^"]*)")?', match.group(1))}


@pytest.fixture
def storefront(sandbox: ShopifySandbox) -> Any:  # noqa: F811
    sandbox.app_config(app_url="http://127.0.0.1:9")  # rendering only: nothing calls the app here
    return sandbox.add_shop(DOMAIN, seed=5, customers=12, orders=20)


def test_the_sandbox_deploys_the_repositorys_extension(sandbox: ShopifySandbox) -> None:  # noqa: F811
    assert DEFAULT_EXTENSION == EXTENSION_DIR
    extension = sandbox.theme_extension
    assert extension is not None and extension.handle == "comeback-widget"
    assert [b.handle for b in extension.app_embeds] == ["comeback-embed"]
    assert extension.app_embeds[0].defaults() == {"accent": "#4a2f8f", "position": "auto", "label": None}


def test_until_the_merchant_switches_the_embed_on_the_page_has_no_block(storefront: Any) -> None:
    page = requests.get(f"{storefront.origin}/", timeout=5).text
    assert "data-comeback-widget" not in page
    assert "/storefront/comeback-widget.js" in page  # the snippet pasted before the app embed existed
    storefront.app_embed_set(widget_snippet=False)
    page = requests.get(f"{storefront.origin}/", timeout=5).text
    assert "comeback-widget" not in page


def test_the_block_renders_with_the_customer_locale_shop_and_settings(sandbox: ShopifySandbox,  # noqa: F811
                                                                       storefront: Any) -> None:
    # the theme editor, over the sandbox's control API
    switched = requests.post(f"{sandbox.base_url}/_sandbox/shops/{DOMAIN}/app_embed", timeout=5,
                             json={"enabled": True, "settings": {"accent": "#0a7d33", "position": "right"}})
    assert switched.json() == {"enabled": True, "settings": {"accent": "#0a7d33", "position": "right"},
                               "widget_snippet": True}
    customer = next(c for c in storefront.customers if c.email)
    session = requests.Session()
    page = session.get(f"{storefront.origin}/?customer={customer.id}&locale=he", timeout=5).text
    attrs = mount(page)
    assert attrs["data-customer-id"] == str(customer.id)
    assert attrs["data-locale"] == "he"
    assert attrs["data-shop"] == DOMAIN
    assert attrs["data-accent"] == "#0a7d33" and attrs["data-position"] == "right"
    assert attrs["data-label"] == "מועדון הטבות"  # no label set: the extension's own string, in Hebrew
    root = f"/shops/{DOMAIN}"
    assert attrs["data-endpoint"] == f"{root}/apps/comeback"  # routes.root_url + the app proxy
    assert attrs["data-login-url"] == f"{root}/account/login?locale=he"
    # exactly one widget: the block's, not also the pasted snippet; the schema is never output
    assert page.count("comeback-widget.js") == 1 and "/storefront/comeback-widget.js" not in page
    assert "{% schema %}" not in page and '"settings"' not in page and "{{" not in page

    # a guest, in Persian, with the merchant's own label (escaped as the block says)
    requests.post(f"{sandbox.base_url}/_sandbox/shops/{DOMAIN}/app_embed", timeout=5,
                  json={"settings": {"label": 'Points & "more"'}})
    attrs = mount(requests.get(f"{storefront.origin}/?locale=fa", timeout=5).text)
    assert attrs["data-customer-id"] == "" and attrs["data-locale"] == "fa"
    assert attrs["data-label"] == 'Points & "more"'
    # back to the default label: the extension's string in the shopper's language, English otherwise
    storefront.app_embed_set(settings={"label": None})
    assert mount(requests.get(f"{storefront.origin}/?locale=fa", timeout=5).text)["data-label"] == "باشگاه مشتریان"
    assert mount(requests.get(f"{storefront.origin}/?locale=de", timeout=5).text)["data-label"] == "Rewards"


def test_the_blocks_assets_are_served_like_shopifys_cdn(storefront: Any) -> None:
    storefront.app_embed_set(enabled=True)
    page = requests.get(f"{storefront.origin}/", timeout=5).text
    script = re.search(r'<script src="([^"]+)" defer></script>', page).group(1)
    stylesheet = mount(page)["data-css"]
    assert re.search(r"/extensions/comeback-widget/[0-9a-f]{12}/assets/comeback-widget\.js$", script)
    for url, name, kind in ((script, "comeback-widget.js", "text/javascript"),
                            (stylesheet, "comeback-widget.css", "text/css")):
        answer = requests.get(url, timeout=5)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind)
        assert answer.content == (EXTENSION_DIR / "assets" / name).read_bytes()
        assert "immutable" in answer.headers["Cache-Control"]
    for missing in ("nope.js", "..%2Fshopify.extension.toml", ".hidden"):
        assert requests.get(script.rsplit("/", 1)[0] + "/" + missing, timeout=5).status_code == 404


def test_the_apps_deep_link_opens_the_theme_editor_with_the_embed_on_until_saved(
        sandbox: ShopifySandbox, storefront: Any, settings: Any) -> None:  # noqa: F811
    settings.SHOPIFY_SANDBOX_URL = sandbox.base_url
    link = app_embed_editor_url(shop_domain=DOMAIN)
    assert link.startswith(f"{storefront.origin}/admin/themes/current/editor?context=apps&template=index&")
    assert f"activateAppId={settings.SHOPIFY_API_KEY}%2Fcomeback-embed" in link
    editor = requests.get(link, timeout=5)
    assert editor.status_code == 200 and "save to publish it" in editor.text
    assert re.search(r"<input type='checkbox' name='enabled' role='switch' checked>", editor.text)
    assert not storefront.app_embed_enabled  # the deep link alone publishes nothing
    assert "data-comeback-widget" not in requests.get(f"{storefront.origin}/", timeout=5).text
    # without the deep link the switch shows the saved state: off
    assert " checked>" not in requests.get(link.split("?")[0], timeout=5).text.split("Enabled")[0]

    saved = requests.post(link, data={"enabled": "on", "accent": "#aa3300", "position": "left", "label": ""},
                          timeout=5)
    assert saved.status_code == 200 and "Saved." in saved.text
    assert storefront.app_embed_enabled and storefront.app_embed_settings == {"accent": "#aa3300", "position": "left"}
    attrs = mount(requests.get(f"{storefront.origin}/", timeout=5).text)
    assert (attrs["data-accent"], attrs["data-position"], attrs["data-label"]) == ("#aa3300", "left", "Rewards")
    # switched off again in the editor: gone from the storefront
    requests.post(link.split("?")[0], data={"accent": "#aa3300"}, timeout=5)
    assert not storefront.app_embed_enabled
    assert "data-comeback-widget" not in requests.get(f"{storefront.origin}/", timeout=5).text


def test_the_editor_saves_only_what_the_blocks_schema_allows(sandbox: ShopifySandbox,  # noqa: F811
                                                              storefront: Any) -> None:
    control = f"{sandbox.base_url}/_sandbox/shops/{DOMAIN}/app_embed"
    for bad, message in (({"position": "middle"}, "not one of its options"), ({"accent": "green"}, "#rrggbb"),
                         ({"colour": "#000000"}, "no setting 'colour'"), ({"label": "a\nb"}, "one line")):
        answer = requests.post(control, json={"enabled": True, "settings": bad}, timeout=5)
        assert answer.status_code == 400 and message in answer.json()["error"], answer.text
    assert not storefront.app_embed_enabled and storefront.app_embed_settings == {}
    editor = requests.post(f"{storefront.origin}/admin/themes/current/editor",
                           data={"enabled": "on", "accent": "#12345", "position": "left"}, timeout=5)
    assert editor.status_code == 400 and "Not saved" in editor.text and "#rrggbb" in editor.text
    assert not storefront.app_embed_enabled
    # an empty value puts the schema's default back
    requests.post(control, json={"settings": {"accent": "#102030", "label": "Club"}}, timeout=5)
    requests.post(control, json={"settings": {"accent": ""}}, timeout=5)
    assert storefront.app_embed_settings == {"label": "Club"}


def test_an_extension_folder_is_checked_when_deployed(tmp_path: Path, sandbox: ShopifySandbox) -> None:  # noqa: F811
    from sandbox.shopify import SandboxError

    with pytest.raises(SandboxError, match="shopify.extension.toml"):
        sandbox.app_config(theme_extension=str(tmp_path))
    (tmp_path / "shopify.extension.toml").write_text('name = "x"\ntype = "ui_extension"\n', encoding="utf-8")
    with pytest.raises(SandboxError, match="not 'theme'"):
        ThemeExtension(tmp_path)
    (tmp_path / "shopify.extension.toml").write_text('name = "x"\ntype = "theme"\n', encoding="utf-8")
    (tmp_path / "blocks").mkdir()
    (tmp_path / "blocks" / "broken.liquid").write_text('{% if %}{% schema %}{"target": "body"}{% endschema %}',
                                                       encoding="utf-8")
    with pytest.raises(SandboxError, match="broken.liquid"):
        ThemeExtension(tmp_path)  # refused at deploy, as shopify app deploy refuses it
    # a block that fails while rendering shows Shopify's inline "Liquid error", the page still works
    (tmp_path / "blocks" / "broken.liquid").write_text(
        '<p>{{ 1 | divided_by: 0 }}</p>{% schema %}{"target": "body"}{% endschema %}', encoding="utf-8")
    sandbox.app_config(theme_extension=str(tmp_path), app_url="http://127.0.0.1:9")
    shop = sandbox.add_shop(DOMAIN, customers=3, orders=3)
    shop.app_embed_set(enabled=True)
    page = requests.get(f"{shop.origin}/", timeout=5)
    assert page.status_code == 200 and "Liquid error (blocks/broken.liquid)" in page.text

    sandbox.app_config(theme_extension=None)
    assert sandbox.theme_extension is None


# --- in Chromium, against the app on a live server ------------------------------------------------


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_the_widget_loads_from_the_rendered_block_in_chromium(browser_page: Page, app: Any,  # noqa: F811
                                                              sandbox: ShopifySandbox) -> None:  # noqa: F811
    sandbox.app_config(app_url=app.url)
    store = sandbox.add_shop(DOMAIN, seed=12, customers=20, orders=40)
    install(app, DOMAIN)
    shop = Shop.objects.get(domain=DOMAIN)
    program_enable(shop=shop)
    customer = Customer.objects.filter(shop=shop).exclude(email="").order_by("pk").first()
    entry_write(account=account_for_customer(shop=shop, customer=customer), kind="adjust", source="admin",
                key="gift", points=250, reason="welcome gift")
    # the merchant removes the old snippet and switches the app embed on: green, bottom right, "Points"
    store.app_embed_set(enabled=True, widget_snippet=False,
                        settings={"accent": "#0a7d33", "position": "right", "label": "Points"})
    page = browser_page
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))

    page.goto(f"{store.origin}/?customer={customer.platform_id}&locale=he")
    launcher = page.locator("#comeback-widget .cbw .cbw-launcher")  # mounted in the block's element
    expect(launcher).to_contain_text("Points")
    expect(launcher).to_contain_text("250")  # the app knew the customer: the proxy signed their id
    assert page.locator(".cbw").get_attribute("dir") == "rtl"
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(10, 125, 51)"
    box = launcher.bounding_box()
    assert box is not None and box["x"] > 640, "the merchant chose the right corner, even in Hebrew"
    assert any(re.search(r"/extensions/comeback-widget/\w+/assets/comeback-widget\.js$", u) for u in loaded)
    assert any(re.search(r"/extensions/comeback-widget/\w+/assets/comeback-widget\.css$", u) for u in loaded)
    assert not any("/storefront/comeback-widget" in u for u in loaded), "nothing from the pasted snippet"
    launcher.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("[data-cbw=balance]")).to_contain_text("250")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "app-embed-he.png"))

    # a guest in Persian with the default settings: the localised label, bottom left (right to left)
    store.app_embed_set(settings={"accent": None, "position": None, "label": None})
    page.context.clear_cookies()
    page.goto(f"{store.origin}/?customer=&locale=fa")
    launcher = page.locator("#comeback-widget .cbw-launcher")
    expect(launcher).to_contain_text("باشگاه مشتریان")
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(74, 47, 143)"
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 640
    expect(page.locator(".cbw-badge")).to_have_count(0)
