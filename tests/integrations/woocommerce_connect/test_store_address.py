"""The store's address: parsed into the shop's domain, and refused before any call when calling
it could reach inside our network (SSRF) or go over plain http in production."""

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from integrations.woocommerce.connection import connect_start, store_address, store_address_verify
from integrations.woocommerce.models import WooConnection
from retention_app.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolves_to(monkeypatch):
    """Pretend DNS: a host name answers with the given addresses (the machine has no internet)."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                    for ip in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("raw, url, domain", [
    ("https://Shop.Example/", "https://shop.example", "shop.example"),
    ("shop.example", "https://shop.example", "shop.example"),
    ("https://shop.example:443/", "https://shop.example", "shop.example"),
    ("https://shop.example:8443/store/", "https://shop.example:8443/store", "shop.example:8443/store"),
    ("http://127.0.0.1:8123/stores/acme", "http://127.0.0.1:8123/stores/acme", "127.0.0.1:8123/stores/acme"),
    ("https://bücher.example", "https://xn--bcher-kva.example", "xn--bcher-kva.example"),
])
def test_store_addresses_become_the_shops_domain(raw, url, domain):
    address = store_address(raw)
    assert (address.url, address.domain) == (url, domain)


@pytest.mark.parametrize("raw", [
    "", "   ", "ftp://shop.example", "https://user:pw@shop.example", "https://shop.example/?x=1",
    "https://shop.example/#top", "https://shop.example/a b", "javascript:alert(1)", "https://shop.example:99999",
    "https://shop.example/../admin", "https://" + "a" * 300 + ".example",
])
def test_bad_addresses_are_refused(raw):
    with pytest.raises(ApplicationError) as refused:
        store_address(raw)
    assert refused.value.status == 400


@pytest.mark.parametrize("ip", [
    "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
    "::ffff:10.0.0.1", "fd00::1", "fe80::1", "240.0.0.1",
])
def test_private_link_local_and_reserved_addresses_are_refused(resolves_to, ip):
    # given a public-looking name that resolves inside a network
    resolves_to["store.attacker.example"] = [ip]
    # then it is refused as a store, and nothing is created
    with pytest.raises(ApplicationError) as refused:
        connect_start(store_url="https://store.attacker.example", session_key="s")
    assert refused.value.status == 400
    assert not WooConnection.objects.exists()


def test_one_private_answer_among_public_ones_is_refused(resolves_to):
    resolves_to["mixed.example"] = ["93.184.215.14", "10.1.2.3"]
    with pytest.raises(ApplicationError):
        store_address_verify("https://mixed.example")


def test_a_public_https_store_is_accepted_in_production(resolves_to):
    resolves_to["shop.example"] = ["93.184.215.14"]
    with override_settings(WOOCOMMERCE_ALLOW_LOCAL_STORES=False):
        assert store_address_verify("https://shop.example").domain == "shop.example"


def test_plain_http_is_refused_in_production(resolves_to):
    resolves_to["shop.example"] = ["93.184.215.14"]
    with override_settings(WOOCOMMERCE_ALLOW_LOCAL_STORES=False), pytest.raises(ApplicationError) as refused:
        store_address_verify("http://shop.example")
    assert "https" in refused.value.message


@pytest.mark.parametrize("raw", ["http://localhost:8000", "https://127.0.0.1", "https://[::1]:8443/shop"])
def test_loopback_stores_only_with_the_local_setting(raw):
    with override_settings(WOOCOMMERCE_ALLOW_LOCAL_STORES=False), pytest.raises(ApplicationError):
        store_address_verify(raw)
    with override_settings(WOOCOMMERCE_ALLOW_LOCAL_STORES=True):
        assert store_address_verify(raw).url.startswith(("http://", "https://"))


def test_a_name_resolving_to_loopback_is_refused_without_the_local_setting(resolves_to):
    resolves_to["sneaky.example"] = ["127.0.0.1"]
    with override_settings(WOOCOMMERCE_ALLOW_LOCAL_STORES=False), pytest.raises(ApplicationError):
        store_address_verify("https://sneaky.example")


def test_an_unknown_host_is_a_clear_400(resolves_to):
    with pytest.raises(ApplicationError) as refused:
        store_address_verify("https://no-such-store.invalid")
    assert refused.value.status == 400


def test_connect_start_sends_the_merchant_to_wc_auth_with_a_fresh_state(settings):
    settings.APP_URL = "https://app.example"
    started = connect_start(store_url="http://127.0.0.1:9/stores/acme/", session_key="browser-1")
    url = urlsplit(started.authorize_url)
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://127.0.0.1:9/stores/acme/wc-auth/v1/authorize"
    assert query["app_name"] == "Comeback"
    assert query["scope"] == "read_write"
    assert query["user_id"] == started.connection.state and len(query["user_id"]) >= 32
    assert query["callback_url"] == "https://app.example/woocommerce/callback"
    assert query["return_url"] == f"https://app.example/woocommerce/connected?state={started.connection.state}"
    connection = WooConnection.objects.get()
    assert (connection.domain, connection.status, connection.session_key) == (
        "127.0.0.1:9/stores/acme", "pending", "browser-1")
    # a second start is another state
    again = connect_start(store_url="http://127.0.0.1:9/stores/acme", session_key="b")
    assert again.connection.state != query["user_id"]


def test_the_plugins_return_url_must_be_on_the_store(settings):
    started = connect_start(store_url="http://127.0.0.1:9/stores/acme",
                            return_url="http://127.0.0.1:9/stores/acme/wp-admin/admin.php?page=comeback")
    assert started.connection.return_url.endswith("page=comeback")
    with pytest.raises(ApplicationError) as refused:
        connect_start(store_url="http://127.0.0.1:9/stores/acme", return_url="https://evil.example/steal")
    assert refused.value.status == 400


def test_the_connect_page_without_an_address_is_a_form(client):
    response = client.get("/woocommerce/connect")
    assert response.status_code == 200
    assert b'name="store_url"' in response.content


@pytest.mark.parametrize("language, heading", [("he", "חיבור חנות WooCommerce"), ("fa", "اتصال فروشگاه WooCommerce")])
def test_the_connect_form_reads_right_to_left_in_the_merchants_language(client, language, heading):
    response = client.get("/woocommerce/connect", HTTP_ACCEPT_LANGUAGE=language)
    assert b'dir="rtl"' in response.content
    assert b'name="viewport"' in response.content
    assert heading in response.content.decode()
    # the address itself stays left to right
    assert 'dir="ltr"' in response.content.decode()


def test_a_refused_address_is_explained_in_the_merchants_language(client):
    response = client.get("/woocommerce/connect", {"store_url": "ftp://shop.example"}, HTTP_ACCEPT_LANGUAGE="he")
    assert response.status_code == 400
    assert "זו אינה כתובת אינטרנט." in response.content.decode()


def test_the_connect_page_with_a_bad_address_shows_the_form_again(client):
    response = client.get("/woocommerce/connect", {"store_url": "https://10.0.0.1"})
    assert response.status_code == 400
    assert b'aria-invalid="true"' in response.content
    assert not WooConnection.objects.exists()


def test_the_connect_page_redirects_to_the_store(client):
    response = client.get("/woocommerce/connect", {"store_url": "http://127.0.0.1:9/stores/acme"})
    assert response.status_code == 302
    assert response["Location"].startswith("http://127.0.0.1:9/stores/acme/wc-auth/v1/authorize?")
    assert WooConnection.objects.get().session_key == client.session.session_key
