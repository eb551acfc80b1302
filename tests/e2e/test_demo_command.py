"""`make demo` end to end on the embedded default (SQLite, Celery eager), on small stores.

The demo runs as a person runs it (``manage.py demo`` in its own process, with its own web server
and sandboxes); the checks go over HTTP to what it prints, and read its SQLite database.
"""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"VAR_DIR": str(tmp_path), "PORT": str(free_port()), "WOO_SANDBOX_PORT": str(free_port()),
                "DEMO_CUSTOMERS": "60", "DEMO_ORDERS": "250", "DEMO_WOO_CUSTOMERS": "50", "DEMO_WOO_ORDERS": "200",
                "DEMO_ADMIN_PASSWORD": "demo-test-password", "DEMO_DASHBOARD_PASSWORD": "demo-dash-password",
                "PYTHONUNBUFFERED": "1", **extra})
    return env


def query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the demo's database while it runs (a write in progress: try again)."""
    for _ in range(50):
        try:
            with sqlite3.connect(database, timeout=5) as connection:
                return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.2)
    raise AssertionError("the demo's database stayed locked")


def line_value(output: str, label: str) -> str:
    """The first word after ``label`` on a summary line of the section that starts at ``section``."""
    match = re.search(rf"^  {re.escape(label)}\s+(\S+)", output, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output[-3000:]}"
    return match.group(1)


def woo_section(output: str) -> str:
    start = output.index("  WooCommerce     ")
    return output[start:]


def test_demo_installs_syncs_and_runs_the_program(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "demo", "--exit-after-install"], cwd=ROOT,
                            env=demo_env(tmp_path), capture_output=True, text=True, timeout=900)  # a hang guard only
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Synced          60 customers, 70 products, 250 orders (sync completed)" in output
    assert "loyalty program on" in output
    assert "plan: Comeback" in output  # the demo store approved the paid plan's test charge in the sandbox
    assert "campaign flows on" in output
    assert "surveys on: 3 surveys" in output  # answered by past customers: the Surveys report is not empty
    assert "could not be sent" not in output  # discount codes reach the sandbox from the demo's own loop
    assert "login: admin / demo-test-password" in output
    # the second sandbox shop, without the app: the address a person clicks to walk through the install
    assert "/shops/new-store.myshopify.com/admin/apps/" in output
    assert "opens embedded on the set-up guide" in output
    assert (tmp_path / "comeback.sqlite3").exists()

    # the WooCommerce store: connected through wc-auth and the plugin's claim, its history synced
    woo = woo_section(output)
    assert "Synced          50 customers, 70 products, 200 orders (sync completed)" in woo
    domain = re.search(r"^  WooCommerce .*\((\S+)\)", woo, re.MULTILINE).group(1)  # type: ignore[union-attr]
    database = tmp_path / "comeback.sqlite3"
    assert query(database, "SELECT platform, storefront_url, access_token != '' FROM commerce_shop WHERE domain = ?",
                 domain) == [("woocommerce", f"http://{domain}", 1)]
    connection = query(database, "SELECT c.status, c.claimed_at IS NOT NULL, c.consumer_key != '' FROM"
                       " woocommerce_platform_wooconnection c JOIN commerce_shop s ON s.id = c.shop_id"
                       " WHERE s.domain = ?", domain)
    assert connection == [("connected", 1, 1)]  # the plugin claimed its secret
    hooks = query(database, "SELECT count(*) FROM woocommerce_platform_woowebhook w JOIN commerce_shop s"
                  " ON s.id = w.shop_id WHERE s.domain = ? AND w.status = 'active'", domain)
    assert hooks[0][0] >= 4  # orders, customers, products, coupons at least

    # both demo stores have been through the set-up guide (their app opens on the overview); the new
    # Shopify shop has not
    onboarded = query(database, "SELECT shop.domain, onboarding.launched_at IS NOT NULL FROM dashboard_onboarding"
                      " onboarding JOIN commerce_shop shop ON shop.id = onboarding.shop_id ORDER BY shop.domain")
    assert sorted(onboarded) == sorted([("demo-store.myshopify.com", 1), (domain, 1)])
    # the demo login sees both shops; the Woo store's points are awarded for its history
    members = query(database, "SELECT s.domain FROM dashboard_shopmembership m JOIN auth_user u ON u.id = m.user_id"
                    " JOIN commerce_shop s ON s.id = m.shop_id WHERE u.username = 'demo' ORDER BY s.domain")
    assert sorted(row[0] for row in members) == sorted(["demo-store.myshopify.com", domain])
    points = query(database, "SELECT count(*) FROM loyalty_ledgerentry l JOIN commerce_shop s ON s.id = l.shop_id"
                   " WHERE s.domain = ? AND l.source = 'order'", domain)
    assert points[0][0] > 50


class Demo:
    """``manage.py demo`` running in its own process group, its output collected as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen([sys.executable, "manage.py", "demo"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.output):
                return self.output
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(f"the demo stopped ({self.process.returncode}):\n{self.output[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"the demo did not get there in {timeout}s:\n{self.output[-3000:]}")

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops it (the whole process group: the demo and its web server)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture
def live_demo(tmp_path: Path) -> Iterator[tuple[Demo, Path]]:
    demo = Demo(demo_env(tmp_path, DEMO_LIVE_INTERVAL="0.5", DEMO_WOO_LIVE_INTERVAL="0.5",
                         DEMO_STATUS_INTERVAL="1"))
    try:
        yield demo, tmp_path / "comeback.sqlite3"
    finally:
        if demo.process.poll() is None:
            demo.interrupt()


def dashboard_login(app_url: str, username: str, password: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{app_url}/dashboard/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = browser.post(f"{app_url}/dashboard/login/", timeout=30, headers={"Referer": page.url},
                          data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code == 200 and "/login/" not in answer.url, answer.text[:500]
    return browser


def test_demo_runs_both_stores_live_for_merchants_and_shoppers(live_demo):
    demo, database = live_demo
    output = demo.wait_for(lambda text: "both stores are live" in text, timeout=900)
    woo = woo_section(output)
    shop_name, domain = re.search(r"^  WooCommerce     (.+) \((\S+)\)", woo, re.MULTILINE).groups()  # type: ignore[union-attr]
    app_url = line_value(woo, "Dashboard").split("/dashboard/")[0]

    # the plugin's "Comeback" menu in wp-admin opens the dashboard of the Woo shop (a signed link), no
    # password asked; its settings page says the store is connected
    plugin = requests.get(line_value(woo, "WordPress admin"), timeout=30)
    assert plugin.status_code == 200 and "/dashboard/" in plugin.url, (plugin.status_code, plugin.url)
    assert f'<p class="shop-name">{shop_name}</p>' in plugin.text  # the Woo shop is the one open
    assert domain in requests.get(line_value(woo, "Plugin settings"), timeout=30).text

    # the storefront: a WordPress shop page with the widget's mount point, as the plugin renders it
    storefront = line_value(woo, "Storefront").rstrip("/")
    page = requests.get(f"{storefront}/", timeout=30)
    assert page.status_code == 200
    assert "data-comeback-widget" in page.text
    assert f'data-endpoint="{storefront}/wp-json/comeback/v1"' in page.text
    assert f"{app_url}/storefront/comeback-widget.js" in page.text
    hebrew = requests.get(f"{storefront}/", params={"lang": "he"}, timeout=30).text
    assert "dir='rtl'" in hebrew and 'data-locale="he' in hebrew
    # a logged-in shopper sees their points through the plugin's route (signed, forwarded to /proxy/)
    shopper = requests.Session()
    logged_in = shopper.get(line_value(woo, "Shopper"), timeout=30)
    assert logged_in.status_code == 200
    # the widget sends the page's REST nonce with WordPress's login cookie, as WordPress requires
    nonce = re.search(r'data-nonce="([^"]+)"', shopper.get(f"{storefront}/", timeout=30).text)
    assert nonce
    widget = shopper.get(f"{storefront}/wp-json/comeback/v1/loyalty", headers={"X-WP-Nonce": nonce.group(1)},
                         timeout=30)
    assert widget.status_code == 200, widget.text[:500]
    state = widget.json()
    assert state["logged_in"] is True and state["balance"]["available"] + state["balance"]["pending"] > 0

    # the merchant's dashboard for the Woo shop, with the demo login, in en, he and fa
    browser = dashboard_login(app_url, "demo", "demo-dash-password")
    for language, direction in (("en", "ltr"), ("he", "rtl"), ("fa", "rtl")):
        browser.cookies.set("django_language", language)
        answer = browser.get(f"{app_url}/dashboard/", params={"shop": domain}, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        assert f'lang="{language}"' in answer.text and f'dir="{direction}"' in answer.text
        assert f'<p class="shop-name">{shop_name}</p>' in answer.text

    # live orders on the Woo store reach the app as webhooks and earn points
    synced = query(database, "SELECT max(o.id) FROM commerce_order o JOIN commerce_shop s ON s.id = o.shop_id"
                   " WHERE s.domain = ?", domain)[0][0]
    deadline = time.monotonic() + 120
    earned: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline and not earned:
        earned = query(database, "SELECT o.platform_id FROM commerce_order o JOIN commerce_shop s ON s.id = o.shop_id"
                       " JOIN loyalty_ledgerentry l ON l.shop_id = s.id AND l.source = 'order'"
                       " AND l.source_id = o.platform_id WHERE s.domain = ? AND o.id > ?", domain, synced)
        time.sleep(0.5)
    assert earned, demo.output[-3000:]
    # the Shopify store is live too
    assert re.search(r"demo-store\.myshopify\.com: orders (\d+)", demo.output)
    assert query(database, "SELECT count(*) FROM integrations_webhookdelivery d JOIN commerce_shop s"
                 " ON s.id = d.shop_id WHERE s.domain = ?", domain)[0][0] > 0

    assert demo.interrupt() == 0
    assert "[demo] stopping" in demo.output
