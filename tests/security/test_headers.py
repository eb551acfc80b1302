"""Security headers: a Content-Security-Policy on every response, framing only by the shop's own
admin on embedded pages, nosniff on the widget's files, and production's deploy check clean.

The policy is read back from the responses and taken apart directive by directive; the pages are
then opened in headless Chromium, which enforces it, to show nothing they need is blocked.
"""

import hashlib
import hmac
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from playwright.sync_api import Browser

from campaigns.services.email import unsubscribe_token
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from loyalty.services.program import program_enable
from surveys.models import Survey
from surveys.selectors import survey_list
from surveys.services import survey_link
from tests.browser import needs_chromium
from tests.factories import CustomerFactory, ShopFactory, UserFactory
from tests.integrations.test_oauth import session_token

ROOT = Path(__file__).resolve().parents[2]
ALPHA, BETA = "alpha.myshopify.com", "beta.myshopify.com"
# Shopify's host parameter: base64 of the shop's admin (admin.shopify.com/store/<handle>)
ALPHA_HOST, BETA_HOST = "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE", "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYmV0YQ"
ADMIN = "https://admin.shopify.com"
#: The sources no directive of ours may allow: they would let an injected script or style run.
UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:")


def policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    parsed = {directive[0]: directive[1:] for directive in directives}
    assert len(parsed) == len(directives), header  # no directive twice
    return parsed


def assert_strict(found: dict[str, list[str]]) -> None:
    """The baseline every response carries (settings.CONTENT_SECURITY_POLICY)."""
    assert found["default-src"] == ["'self'"]
    assert found["object-src"] == ["'none'"] and found["base-uri"] == ["'none'"]
    assert found["form-action"] == ["'self'"]
    for directive in ("script-src", "style-src", "connect-src", "default-src"):
        assert not set(found[directive]) & set(UNSAFE), (directive, found[directive])
        assert found[directive][0] == "'self'"


def assert_not_frameable(response: Any) -> None:
    assert policy(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def inline_code(html: str) -> list[str]:
    """What a strict policy would block in the markup: event-handler and style attributes, and
    inline <script>/<style> without this response's nonce (JSON data blocks are not run)."""
    found = re.findall(r"<[a-z]+[^>]*\s(on[a-z]+|style)=", html)
    found += [tag for tag in re.findall(r"<script\b[^>]*>", html)
              if "src=" not in tag and 'type="application/json"' not in tag and "nonce=" not in tag]
    found += [tag for tag in re.findall(r"<style\b[^>]*>", html) if "nonce=" not in tag]
    return found


@pytest.fixture
def shops(db: Any) -> tuple[Any, Any]:
    return ShopFactory(domain=ALPHA, name="Alpha"), ShopFactory(domain=BETA, name="Beta")


@pytest.fixture
def member(shops: tuple[Any, Any]) -> Any:
    user = UserFactory(username="dana")
    membership_grant(user=user, shop=shops[0], role=MembershipRole.OWNER)
    return user


# --- the dashboard -------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["overview", "cohorts", "segments", "loyalty", "flows", "surveys"])
def test_dashboard_pages_carry_a_strict_policy_and_no_inline_code(client, member, page):
    client.force_login(member)
    response = client.get(f"/dashboard/{page}/")
    assert response.status_code == 200
    found = policy(response)
    assert_strict(found)
    assert found["script-src"] == ["'self'"] and found["style-src"] == ["'self'"]  # no inline code to allow
    assert found["img-src"] == ["'self'", "data:"]
    assert_not_frameable(response)  # outside the Shopify admin nothing may frame it
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert inline_code(response.content.decode()) == []


def test_login_pages_and_the_django_admin_are_under_the_policy(client, db):
    for path in ("/dashboard/login/", "/admin/login/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(policy(response))
        assert_not_frameable(response)
    staff = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(staff)
    for path in ("/admin/", "/admin/commerce/shop/", "/admin/integrations/webhookdelivery/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(policy(response))
        assert_not_frameable(response)


def test_embedded_pages_may_be_framed_by_their_own_shops_admin_only(client, shops):
    # when the Shopify admin loads alpha's page with a session token
    response = client.get("/dashboard/overview/", {"shop": ALPHA, "host": ALPHA_HOST, "id_token": session_token(ALPHA)})
    # then
    assert response.status_code == 200
    found = policy(response)
    assert response["Content-Security-Policy"].startswith(f"frame-ancestors https://{ALPHA} {ADMIN};")
    assert found["frame-ancestors"] == [f"https://{ALPHA}", ADMIN]
    assert BETA not in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response  # it would forbid the admin's frame whatever the policy says
    assert found["script-src"] == ["'self'", "https://cdn.shopify.com"]  # App Bridge, nothing else
    assert_strict(found)
    assert '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>' in response.content.decode()
    assert inline_code(response.content.decode()) == []
    # beta's token: beta's admin, not alpha's
    other = client.get("/dashboard/overview/", {"shop": BETA, "host": BETA_HOST, "id_token": session_token(BETA)})
    assert policy(other)["frame-ancestors"] == [f"https://{BETA}", ADMIN]


def test_the_bounce_page_is_framed_by_the_shops_admin_and_errors_inside_the_admin_are_shown(client, shops, settings):
    settings.APP_URL = "https://app.example.com"
    bounce = client.get("/shopify/bounce", {
        "shop": ALPHA, "host": ALPHA_HOST, "shopify-reload": "https://app.example.com/dashboard/flows/?shop=" + ALPHA})
    assert bounce.status_code == 200
    assert policy(bounce)["frame-ancestors"] == [f"https://{ALPHA}", ADMIN]
    assert "X-Frame-Options" not in bounce
    # a token for beta claiming alpha: refused, and the refusal is visible inside the admin's frame
    # (no shop is verified, so only the admin itself may frame it)
    forged = client.get("/dashboard/overview/", {"shop": ALPHA, "host": ALPHA_HOST, "id_token": session_token(BETA)})
    assert forged.status_code == 401
    assert policy(forged)["frame-ancestors"] == [ADMIN]
    assert "X-Frame-Options" not in forged and "no-store" in forged["Cache-Control"]
    assert "Alpha" not in forged.content.decode()
    # a bad token outside any shop
    broken = client.get("/dashboard/overview/", {"shop": ALPHA, "host": ALPHA_HOST, "id_token": "not-a-jwt"})
    assert broken.status_code == 401 and policy(broken)["frame-ancestors"] == [ADMIN]


# --- shopper pages with an inline stylesheet: allowed by this response's nonce only -----------------

def _nonce_pair(response: Any) -> tuple[str, list[str]]:
    html = response.content.decode()
    nonces = re.findall(r'<style nonce="([^"]+)">', html)
    assert len(nonces) >= 1, html[:500]
    return nonces[0], policy(response)["style-src"]


@pytest.mark.django_db
def test_survey_and_unsubscribe_pages_style_themselves_with_a_fresh_nonce(client):
    shop = ShopFactory()
    program_enable(shop=shop)
    customer = CustomerFactory(shop=shop, locale="en")
    survey = next(survey for survey in survey_list(shop=shop) if survey.key == "nps")
    Survey.objects.filter(pk=survey.pk).update(is_active=True)
    survey_path = survey_link(shop=shop, customer=customer, survey=survey).removeprefix(settings.APP_URL)
    seen = set()
    for path in (survey_path, survey_path, f"/u/{unsubscribe_token(customer)}", "/u/forged-token"):
        response = client.get(path)
        assert response.status_code in (200, 400), path
        nonce, style_src = _nonce_pair(response)
        assert style_src == ["'self'", f"'nonce-{nonce}'"]
        assert_strict(policy(response))
        assert_not_frameable(response)
        assert inline_code(response.content.decode()) == []
        seen.add(nonce)
    assert len(seen) == 4  # a new nonce for every response: a nonce seen once is no use to an attacker


# --- the widget's files and the app proxy ------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("path", "content_type"), [
    ("/storefront/comeback-widget.js", "text/javascript"),
    ("/storefront/comeback-widget.css", "text/css"),
    ("/static/dashboard/charts.js", "text/javascript"),  # WhiteNoise
    ("/static/dashboard/vendor/chart.umd.min.js", "text/javascript"),
    ("/static/dashboard/dashboard.css", "text/css"),
])
def test_script_and_style_files_are_never_sniffed_as_something_else(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert policy(response)["frame-ancestors"] == ["'none'"]


def proxy_query(shop: str, customer_id: str) -> str:
    """Signed as Shopify's app proxy signs its forwarded requests."""
    pairs = [("shop", shop), ("logged_in_customer_id", customer_id), ("path_prefix", "/apps/comeback"),
             ("timestamp", str(int(time.time())))]
    message = "".join(f"{key}={value}" for key, value in sorted(pairs))
    signature = hmac.new(settings.SHOPIFY_API_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode([*pairs, ("signature", signature)])


@pytest.mark.django_db
def test_app_proxy_answers_carry_the_policy_too(client):
    shop = ShopFactory(domain="proxied.myshopify.com")
    program_enable(shop=shop)
    CustomerFactory(shop=shop, platform_id="c1")
    for path in ("/proxy/loyalty", "/proxy/surveys"):
        answered = client.get(f"{path}?{proxy_query(shop.domain, 'c1')}")
        assert answered.status_code == 200, (path, answered.content[:300])
        assert answered["Content-Type"].startswith("application/json")
        assert policy(answered)["frame-ancestors"] == ["'none'"]
        assert answered["X-Content-Type-Options"] == "nosniff"
        refused = client.get(path)  # unsigned
        assert refused.status_code == 401
        assert policy(refused)["frame-ancestors"] == ["'none'"]


# --- production ----------------------------------------------------------------------------------

def test_production_deploy_check_is_clean_with_hsts_and_secure_cookies(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "VAR_DIR"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "retention_app.settings.production", "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50), "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": "ci", "SHOPIFY_API_SECRET": secrets.token_urlsafe(48),
        "APP_URL": "https://comeback.example", "ALLOWED_HOSTS": "comeback.example",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/comeback", "CELERY_BROKER_URL": "redis://127.0.0.1/0",
        "VAR_DIR": str(tmp_path),
    })
    check = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=180)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout
    shown = subprocess.run([sys.executable, "-c", (
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES'].get('upgrade-insecure-requests'))")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout.split() == [str(365 * 24 * 3600), "True", "True", "True", "True"], shown.stderr


# --- in the browser, which enforces the policy ------------------------------------------------------

@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_admin_and_shopper_pages_work_in_chromium_without_a_policy_violation(browser: Browser, live_server: Any):
    UserFactory(username="operator", is_staff=True, is_superuser=True)
    shop = ShopFactory(domain="browsed.myshopify.com")
    program_enable(shop=shop)
    customer = CustomerFactory(shop=shop, locale="he")
    survey = next(survey for survey in survey_list(shop=shop) if survey.key == "nps")
    Survey.objects.filter(pk=survey.pk).update(is_active=True)
    context = browser.new_context(locale="en")
    context.set_default_timeout(20_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/admin/login/")
        page.locator("#id_username").fill("operator")
        page.locator("#id_password").fill("password")
        page.locator("#id_password").press("Enter")
        page.wait_for_url("**/admin/")
        for path in ("/admin/commerce/shop/", f"/admin/commerce/shop/{shop.pk}/change/",
                     "/admin/integrations/webhookdelivery/"):
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, path
            assert "content-security-policy" in response.headers
        # the survey page (Hebrew, right to left) keeps its inline stylesheet through the nonce
        path = survey_link(shop=shop, customer=customer, survey=survey).removeprefix(settings.APP_URL)
        page.goto(f"{live_server.url}{path}")
        margin = page.evaluate("() => getComputedStyle(document.querySelector('.question')).marginTop")
        assert margin != "0px"  # ".question{margin:1.5rem 0}" from the nonce'd <style> applied
        assert not [error for error in errors if "Content Security Policy" in error], errors
        # (Django's admin and the survey page have no favicon: the browser's 404 for it is no error of theirs)
        assert not [error for error in errors if not error.startswith("Failed to load resource")], errors
    finally:
        context.close()


def _login_page_policy(**env: str) -> str:
    """The policy of a fresh process started with this environment (settings are read at start)."""
    clean = {key: value for key, value in os.environ.items() if key != "CSP_REPORT_URI"}
    code = ("import django; django.setup(); from django.test import Client; "
            "print(Client().get('/dashboard/login/')['Content-Security-Policy'])")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**clean, "DJANGO_SETTINGS_MODULE": "retention_app.settings.test", **env})
    assert shown.returncode == 0, shown.stderr[-2000:]
    return shown.stdout.strip()


def test_violations_are_reported_where_the_operator_says():
    plain = _login_page_policy()
    assert "report-uri" not in plain and "frame-ancestors 'none'" in plain
    reported = _login_page_policy(CSP_REPORT_URI="https://errors.example.com/api/1/security/")
    assert reported.endswith("; report-uri https://errors.example.com/api/1/security/")
