"""Every endpoint, driven with arbitrary input: never a 5xx, never a traceback.

Each route of the URLconf (``fuzzing.fuzzed_routes()``) is requested with arbitrary methods, query
strings, JSON and form bodies and the headers we read, in every authentication state of its
family: anonymous, and correctly authenticated (a valid session token, a valid app-proxy signature
over the fuzzed parameters, a logged-in dashboard or admin session, an HMAC-signed webhook, a
signed link), because the code behind the signature check is where the 500s live.  A signed
Shopify webhook is also processed, as the worker would, and must be kept as processed, ignored or
failed with its reason, never raise.

The Django test client re-raises any exception that escapes a view (``raise_request_exception``),
so "no traceback" is checked for every request.  Each example runs in its own rolled-back
transaction, so a failure reproduces on its own.  ``FUZZ_EXAMPLES`` (default 6) is the number of
examples per route and authentication state; ``HYPOTHESIS_PROFILE=deep`` hunts longer.
"""

import base64
import functools
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework import serializers
from twilio.request_validator import RequestValidator

from integrations.models import WebhookDelivery
from integrations.webhooks import delivery_process
from tests.security import fuzzing
from tests.security.fuzzing import Route, World

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))

#: The authentication states tried per family (the first is always "anonymous").
AUTH_STATES: dict[str, tuple[str, ...]] = {
    "merchant-api": ("anonymous", "session-token"),
    "app-proxy": ("anonymous", "proxy-signed"),
    "shopify-webhook": ("anonymous", "hmac-signed"),
    "sms-webhook": ("anonymous", "twilio-signed"),
    "email-webhook": ("anonymous", "basic-auth"),
    "dashboard": ("anonymous", "member"),
    "admin": ("anonymous", "superuser"),
    "signed-link": ("anonymous", "valid-token"),
    "public": ("anonymous", "member"),
}

#: Families whose every route needs a signature or token: anonymously, only the check itself runs.
SIGNED_FAMILIES = {"merchant-api", "app-proxy", "shopify-webhook", "sms-webhook", "email-webhook"}

#: Families fuzzed as one case (a route drawn per example) rather than route by route: Django's
#: admin has some 250 generated routes of the same few views.
POOLED = {"admin": 10 * EXAMPLES}


def _cases() -> list[tuple[tuple[Route, ...], str]]:
    routes = fuzzing.fuzzed_routes()
    cases = [((route,), auth) for route in routes if route.family not in POOLED for auth in AUTH_STATES[route.family]]
    for family in POOLED:
        pool = tuple(route for route in routes if route.family == family)
        cases += [(pool, auth) for auth in AUTH_STATES[family]]
    return cases


CASES = _cases()


def _configure(settings: Any) -> None:
    """Mount everything that is mounted only when configured, so it is fuzzed too."""
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": fuzzing.ANYMAIL_BASIC_AUTH,
                        "MAILGUN_WEBHOOK_SIGNING_KEY": "fuzz-mailgun-key", "MANDRILL_WEBHOOK_KEY": "fuzz-mandrill",
                        "POSTAL_WEBHOOK_KEY": "fuzz-postal", "MAILERSEND_SIGNING_SECRET": "fuzz-mailersend"}
    settings.TWILIO_AUTH_TOKEN = fuzzing.TWILIO_TOKEN
    settings.SHOPIFY_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens: platform calls fail at once


def _content(response: Any) -> bytes:
    """The body; a streamed one (CSV exports) is consumed, so an error while streaming shows."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


#: The fuzz runs with Shopify unreachable (``SHOPIFY_SANDBOX_URL`` is a closed port): a route that
#: must call it (the plan's upgrade and cancel) answers "Shopify could not ... just now; please try
#: again" with a 502.  That is a deliberate answer, not a crash: an exception escaping a view makes
#: the test client raise, so a 502 response here is always one the code chose.
PLATFORM_UNAVAILABLE = 502


def _check(response: Any, described: str) -> None:
    content = _content(response)
    allowed = response.status_code < 500 or response.status_code == PLATFORM_UNAVAILABLE
    assert allowed, f"{described} -> {response.status_code}\n{content[:800]!r}"
    assert b"Traceback (most recent call last)" not in content, f"{described} showed a traceback"


@st.composite
def fuzzed_request(draw: st.DrawFn, routes: tuple[Route, ...], auth: str, world: World) -> dict[str, Any]:
    route = draw(st.sampled_from(routes))
    known = dict(world.known)
    if auth == "valid-token":
        known["token"] = [world.unsubscribe_token if route.template.startswith("u/") else world.survey_token]
    path = draw(fuzzing.route_paths(route, known))
    method = draw(st.sampled_from(fuzzing.METHODS))
    pairs = draw(fuzzing.query_pairs)
    body_keys = _input_fields(route) or fuzzing.QUERY_NAMES
    kind = draw(st.sampled_from(["json", "form", "none"]))
    if kind == "json":
        body: Any = draw(fuzzing.json_bodies(body_keys or fuzzing.QUERY_NAMES))
        content_type = "application/json"
    elif kind == "form":
        body = draw(fuzzing.form_bodies(body_keys))
        content_type = "application/x-www-form-urlencoded"
    else:
        body, content_type = b"", "application/octet-stream"
    headers = draw(fuzzing.headers)
    headers.pop("Content-Type", None)
    return {"route": route, "path": path, "method": method, "pairs": pairs, "body": body, "content_type": content_type,
            "headers": headers, "customer": draw(st.sampled_from([world.customer_platform_id, "", "9" * 30,
                                                                  "not-a-customer"]))}


@functools.cache
def _input_fields(route: Route) -> list[str]:
    """The field names of the view's input serializers (nested ones too), so JSON bodies carry the
    fields it reads."""
    view = getattr(route.view, "view_class", None) or getattr(route.view, "cls", None)
    names: set[str] = set()

    def collect(serializer: Any, depth: int = 0) -> None:
        serializer = getattr(serializer, "child", serializer)  # many=True
        for name, child in getattr(serializer, "fields", {}).items():
            names.add(name)
            if depth < 3:
                collect(child, depth + 1)

    if view is None:
        return []
    module = sys.modules[view.__module__]
    # the view's own serializers and its module's (some views share a module-level one)
    candidates = [getattr(view, name) for name in dir(view)] + list(vars(module).values())
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, serializers.BaseSerializer):
            try:
                collect(candidate())
            except Exception:  # a serializer that needs context to build: skip its names
                continue
    return sorted(names)


def _send(client: Client, auth: str, world: World, request: dict[str, Any]) -> Any:
    headers = dict(request["headers"])
    query = urlencode(request["pairs"])
    body = request["body"]
    if auth == "session-token":
        headers["Authorization"] = f"Bearer {fuzzing.session_token(world.shop.domain)}"
    elif auth == "proxy-signed":
        query = fuzzing.proxy_signed(request["pairs"], shop_domain=world.shop.domain,
                                     customer_id=request["customer"])
    elif auth == "basic-auth":
        headers["Authorization"] = "Basic " + base64.b64encode(fuzzing.ANYMAIL_BASIC_AUTH.encode()).decode()
    elif auth == "twilio-signed":
        # Twilio signs the full URL and the POST form parameters with the account's auth token
        url = f"http://testserver{request['path']}" + (f"?{query}" if query else "")
        params = {}
        if request["content_type"] == "application/x-www-form-urlencoded" and request["method"] == "POST":
            params = dict(parse_qsl(body, keep_blank_values=True))
        headers["X-Twilio-Signature"] = RequestValidator(fuzzing.TWILIO_TOKEN).compute_signature(url, params)
    elif auth in ("member", "superuser"):
        client.force_login(world.member if auth == "member" else world.superuser)
    path = request["path"] + (f"?{query}" if query else "")
    return client.generic(request["method"], path, data=body, content_type=request["content_type"],
                          headers=headers)


CASE_IDS = [f"{routes[0].template if len(routes) == 1 else routes[0].family + ' (pooled)'}|{auth}"
            for routes, auth in CASES]


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """One shop for the whole module, in a transaction rolled back at its end: each test's own
    transaction (and each example's) nests inside it, so nothing leaks to other modules."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield fuzzing.world_create()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("routes,auth", CASES, ids=CASE_IDS)
def test_no_endpoint_answers_5xx_or_a_traceback(routes: tuple[Route, ...], auth: str, world: World,
                                                 settings: Any) -> None:
    # given: a real shop with data, every optional endpoint mounted
    _configure(settings)
    client = Client(raise_request_exception=True)

    examples = POOLED.get(routes[0].family, EXAMPLES) if len(routes) > 1 else EXAMPLES
    if auth == "anonymous" and routes[0].family in SIGNED_FAMILIES:
        examples = max(2, examples // 2)  # refused at the door: the signed state is where the code runs

    @hypothesis_settings(max_examples=examples)
    @given(request=fuzzed_request(routes, auth, world))
    def run(request: dict[str, Any]) -> None:
        with transaction.atomic():
            # when: the arbitrary request is sent
            response = _send(client, auth, world, request)
            # then: a clear answer below 500, no exception
            _check(response, f"{request['method']} {request['path']} ({auth})")
            transaction.set_rollback(True)
        client.logout()

    run()



# --- the signed Shopify webhook, received and then processed as the worker would -----------------


@st.composite
def signed_delivery(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    topic = draw(st.one_of(st.sampled_from(sorted(fuzzing.TOPIC_FIXTURES)), fuzzing.header_text))
    if topic in fuzzing.TOPIC_FIXTURES and draw(st.booleans()):
        body = draw(fuzzing.mutated_payload(topic))
    else:
        body = draw(fuzzing.json_bodies(["id", "customer", "line_items", "email", "total_price", "created_at"]))
    extra = draw(st.dictionaries(st.sampled_from(["X-Shopify-Triggered-At", "X-Shopify-API-Version",
                                                  "X-Forwarded-For", "X-Shopify-Event-Id"]),
                                 fuzzing.header_text, max_size=3))
    return topic, body, extra


@pytest.mark.django_db
def test_a_signed_webhook_with_arbitrary_content_is_answered_and_processed_without_a_traceback(world: World) -> None:
    client = Client(raise_request_exception=True)

    @hypothesis_settings(max_examples=EXAMPLES * 6)
    @given(delivery=signed_delivery())
    def run(delivery: tuple[str, bytes, dict[str, str]]) -> None:
        topic, body, extra = delivery
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": fuzzing.webhook_hmac(body),
                   "X-Shopify-Shop-Domain": world.shop.domain, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                   "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Triggered-At": "2026-01-10T15:15:00Z",
                   **extra}
        with transaction.atomic():
            response = client.post("/webhooks/shopify", data=body, content_type="application/json", headers=headers)
            _check(response, f"webhook {topic!r}")
            if response.status_code == 200:
                delivery_pk = response.json()["delivery"]
                outcome = delivery_process(delivery_pk=delivery_pk)  # never raises for a bad payload
                stored = WebhookDelivery.objects.get(pk=delivery_pk)
                assert stored.status != "received", outcome
                assert stored.status in ("processed", "ignored") or stored.error, outcome
            transaction.set_rollback(True)

    run()


# --- the widget's static files: only the path is input ------------------------------------------


@pytest.mark.django_db
def test_the_widget_asset_route_answers_any_path_without_a_5xx() -> None:
    client = Client(raise_request_exception=True)

    @hypothesis_settings(max_examples=EXAMPLES * 4)
    @given(path=fuzzing.path_value("PathConverter"), method=st.sampled_from(["GET", "HEAD", "POST"]))
    def run(path: str, method: str) -> None:
        _check(client.generic(method, f"/storefront/{path}"), f"asset {path!r}")

    run()


# --- the route list itself ------------------------------------------------------------------------


def test_every_route_is_fuzzed_or_excluded_with_a_reason() -> None:
    templates = {route.template for route in fuzzing.all_routes()}
    assert set(fuzzing.EXCLUDED) <= templates, "an exclusion names a route that no longer exists"
    assert all(reason.strip() for reason in fuzzing.EXCLUDED.values())
    fuzzed = {route.template for routes, _ in CASES for route in routes}
    assert fuzzed | set(fuzzing.EXCLUDED) == templates
    # the routes the issue names are among them, each with its authenticated state
    for template, auth in [("api/segments", "session-token"), ("proxy/loyalty/redeem", "proxy-signed"),
                           ("webhooks/<slug:platform>", "hmac-signed"), ("dashboard/overview/", "member"),
                           ("anymail/postmark/tracking/", "basic-auth")]:
        assert (template, auth) in {(route.template, state) for routes, state in CASES for route in routes}
