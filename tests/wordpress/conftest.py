"""A real WordPress (Debian's packages, set up by ``.ci/wordpress``) with the Comeback plugin,
served by ``php -S``, talking over HTTP to the app on a live server."""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

from commerce.models import Customer
from integrations.woocommerce.models import ConnectionStatus, WooConnection
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from tests.factories import ShopFactory
from tests.loyalty.helpers import customer

ROOT = os.environ.get("COMEBACK_WORDPRESS_ROOT", "")
HERE = Path(__file__).resolve().parent
PLUGIN_PATH = "plugins/comeback/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WordPress:
    url: str
    host: str  # host:port, the shop's domain in the app
    debug_log: Path
    php: list[str]  # php-cli with its opcache on (WordPress parses in seconds otherwise)

    def tool(self, *args: str) -> str:
        """Run tests/wordpress/wp_tool.php against this site (WordPress's own functions)."""
        done = subprocess.run(
            [*self.php, str(HERE / "wp_tool.php"), ROOT, *args], capture_output=True, text=True, timeout=60,
            env={**os.environ, "HTTP_HOST": self.host, "COMEBACK_WP_DEBUG_LOG": str(self.debug_log)},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def options(self, **values: Any) -> None:
        self.tool("options", json.dumps(values))

    def option(self, name: str) -> Any:
        return json.loads(self.tool("option", name))

    def user(self, login: str, role: str, email: str) -> tuple[int, str]:
        """Create (or reset) a WordPress user; its id and a fresh password."""
        password = secrets.token_urlsafe(16)
        return int(self.tool("user", login, role, password, email)), password

    def login(self, login: str, password: str) -> requests.Session:
        """Log in through wp-login.php as a browser does (its test cookie first)."""
        session = requests.Session()
        session.get(f"{self.url}/wp-login.php", timeout=30)
        response = session.post(f"{self.url}/wp-login.php", data={
            "log": login, "pwd": password, "wp-submit": "Log In", "testcookie": "1",
            "redirect_to": f"{self.url}/wp-admin/",
        }, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:500]
        assert any(name.startswith("wordpress_logged_in_") for name in session.cookies.keys())
        return session

    def plugin_problems(self) -> list[str]:
        """PHP warnings, notices and errors the plugin caused (WordPress 6.1's own deprecation
        notices on PHP 8.2 are not ours)."""
        if not self.debug_log.exists():
            return []
        return [line for line in self.debug_log.read_text(errors="replace").splitlines() if PLUGIN_PATH in line]


def widget_mount(html: str) -> dict[str, str]:
    """The attributes of the page's widget mount point."""
    match = re.search(r"<div data-comeback-widget([^>]*)>", html)
    assert match, "no widget mount point on the page"
    return {name: unescape(value) for name, value in re.findall(r'([a-z-]+)="([^"]*)"', match.group(1))}


@pytest.fixture(scope="session")
def wordpress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    if not ROOT:
        pytest.skip("COMEBACK_WORDPRESS_ROOT is not set: run `eval \"$(bash .ci/wordpress)\"` first")
    assert shutil.which("php"), "php-cli is missing (.ci/wordpress installs it)"
    port = free_port()
    work = tmp_path_factory.mktemp("wordpress")
    debug_log = work / "debug.log"
    (work / "opcache").mkdir()
    php = ["php", "-d", "opcache.enable_cli=1", "-d", f"opcache.file_cache={work / 'opcache'}"]
    server = subprocess.Popen(
        [*php, "-S", f"127.0.0.1:{port}", "-t", ROOT, str(HERE / "router.php")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "COMEBACK_WP_DEBUG_LOG": str(debug_log), "PHP_CLI_SERVER_WORKERS": "4"},
        start_new_session=True,  # its own process group: the workers it forks stop with it
    )
    site = WordPress(url=f"http://127.0.0.1:{port}", host=f"127.0.0.1:{port}", debug_log=debug_log, php=php)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{site.url}/wp-login.php", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "php -S did not start serving WordPress"
            time.sleep(0.2)
        yield site
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


@dataclass
class Store:
    """The WordPress site connected to the app: the app's shop, its plugin secret, a shopper."""

    site: WordPress
    app_url: str
    shop: Any
    secret: str
    shopper_id: int
    shopper_password: str
    shopper_email: str


def connect_shop(*, domain: str, secret: str) -> Any:
    """A WooCommerce shop as the connect flow leaves it (keys verified, plugin secret issued)."""
    shop = ShopFactory(platform="woocommerce", domain=domain, storefront_url=f"http://{domain}",
                       access_token="ck_" + "1" * 40, access_token_expires_at=None, refresh_token="")
    WooConnection.objects.create(
        shop=shop, store_url=f"http://{domain}", domain=domain, state=secrets.token_urlsafe(16),
        expires_at=timezone.now() + timedelta(minutes=10), status=ConnectionStatus.CONNECTED,
        consumer_key="ck_" + "1" * 40, consumer_secret="cs_" + "2" * 40, plugin_secret=secret,
        key_permissions="read_write", connected_at=timezone.now(),
    )
    program_enable(shop=shop)
    return shop


@pytest.fixture
def store(wordpress: WordPress, live_server: Any, transactional_db: Any, settings: Any) -> Iterator[Store]:
    settings.APP_URL = live_server.url
    secret = secrets.token_hex(32)
    shop = connect_shop(domain=wordpress.host, secret=secret)
    wordpress.options(
        comeback_app_url=live_server.url,
        comeback_connection={
            "shop": shop.domain,
            "widget_script": f"{live_server.url}/storefront/comeback-widget.js",
            "widget_style": f"{live_server.url}/storefront/comeback-widget.css",
        },
        comeback_secret=secret,
    )
    email = "dana.shopper@example.com"
    shopper_id, password = wordpress.user("dana", "subscriber", email)
    yield Store(site=wordpress, app_url=live_server.url, shop=shop, secret=secret, shopper_id=shopper_id,
                shopper_password=password, shopper_email=email)
    wordpress.options(comeback_connection=None, comeback_secret=None)


def member(store: Store, points: int = 120) -> None:
    """The WordPress shopper is a customer of the store (WooCommerce customer id = WP user id)
    with points in the program."""
    customer(store.shop, str(store.shopper_id), store.shopper_email)
    account = account_for_customer(shop=store.shop,
                                   customer=Customer.objects.get(shop=store.shop, platform_id=str(store.shopper_id)))
    entry_write(account=account, kind="adjust", source="admin", key="gift", points=points, reason="gift")
