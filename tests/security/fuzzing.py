"""Hostile-input generators for the fuzz suites: every route of the URLconf, the arbitrary
query strings, bodies and headers an attacker (or a broken client) sends, and a shop to aim at.

Routes come from ``django.urls.get_resolver()``, so a new endpoint is fuzzed without touching the
tests; the ones left out are listed in ``EXCLUDED`` with the reason.  The query-parameter names
the code reads are harvested from the sources, so the fuzz hits the parameters that matter.
"""

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import strategies as st

from campaigns.services.email import unsubscribe_token
from commerce.models import Customer
from dashboard.models import MembershipRole
from dashboard.services import membership_grant
from loyalty.models import Reward
from loyalty.services.ledger import account_for_customer, entry_write
from loyalty.services.program import program_enable
from segments.models import Segment
from segments.services import shop_recompute
from surveys.models import Survey
from surveys.services import survey_activate, survey_link
from tests.factories import CustomerFactory, OrderFactory, ShopFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-api-secret-with-at-least-32-bytes"  # the test settings' SHOPIFY_API_SECRET
API_KEY = "test-api-key"
DOMAIN = "fuzzed.myshopify.com"
ANYMAIL_BASIC_AUTH = "fuzz:secret-of-the-webhooks"
TWILIO_TOKEN = "fuzz-twilio-auth-token"

# --- routes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "api/loyalty/rewards/<int:reward_id>"
    converters: tuple[tuple[str, str], ...]  # (name, converter class name) in order
    view: Any = field(default=None, compare=False, repr=False)  # the view function

    @property
    def family(self) -> str:
        for prefix, family in FAMILIES:
            if self.template.startswith(prefix):
                return family
        return "public"


#: route prefix -> family; a family decides which authenticated states the fuzz also tries.
FAMILIES: list[tuple[str, str]] = [
    ("admin/", "admin"),
    ("anymail/", "email-webhook"),
    ("webhooks/<slug:platform>", "shopify-webhook"),
    ("webhooks/sms/twilio", "sms-webhook"),
    ("api/", "merchant-api"),
    ("proxy/", "app-proxy"),
    ("dashboard/", "dashboard"),
    ("u/", "signed-link"),
    ("surveys/r/", "signed-link"),
]

#: Routes not fuzzed, each with its reason.
EXCLUDED: dict[str, str] = {
    "storefront/<path:path>": "static files of the widget, served from disk with a path-traversal check; fuzzed "
                              "separately below with path strings only (a body means nothing to it)",
}


def _walk(patterns: list[Any], prefix: str, converters: tuple[tuple[str, str], ...]) -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        pattern = entry.pattern
        found = tuple((name, type(conv).__name__) for name, conv in getattr(pattern, "converters", {}).items())
        text = str(pattern)
        if isinstance(entry, URLResolver):
            routes += _walk(entry.url_patterns, prefix + text, converters + found)
        elif isinstance(entry, URLPattern):
            routes.append(Route(prefix + text, converters + found, entry.callback))
    return routes


def all_routes() -> list[Route]:
    """Every route of the URLconf, admin included, as templates (``api/x/<int:id>``)."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns, "", ()):
        if route.template.startswith("^") or "(?P" in route.template:
            # a regular-expression route (none of ours; Django's admin catch-all): keep it out of templates
            continue
        seen.setdefault(route.template, route)
    return sorted(seen.values(), key=lambda route: route.template)


def fuzzed_routes() -> list[Route]:
    return [route for route in all_routes() if route.template not in EXCLUDED]


# --- values -------------------------------------------------------------------------------------

#: Values that broke things before (issue 11) or break things in general.
NASTY = [
    "", " ", "0", "-1", "1e12", "1e308", "-1e308", "NaN", "nan", "Infinity", "-Infinity", "null", "true",
    "9" * 30, "-" + "9" * 30, "0x1F", "1_000", "١٢٣", "Ⅻ", "0001-01-01", "9999-12-31", "0000-00-00",
    "2026-02-30", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "2026-13-01", "\x00", "a\x00b",
    "\ud7ff", "é", "日本語", "שלום", "🙂", "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "' OR 1=1 --",
    "../../etc/passwd", "%00", "%", "\\", "A" * 5000, "é" * 2000, "\u202e", "\ufeff", "\r\n", "\t",
    "[]", "{}", "a,b,c", "1.5", "-0", "1e-400",
]


def harvested_names(pattern: str, *, extra: tuple[str, ...] = ()) -> list[str]:
    """Names our code reads (``GET.get("page")`` ...) found in the app sources."""
    names: set[str] = set(extra)
    regex = re.compile(pattern)
    apps = [folder for folder in ROOT.iterdir() if (folder / "__init__.py").exists() and folder.name != "tests"]
    for path in (path for folder in apps for path in folder.rglob("*.py")):
        if "sandbox" not in path.parts and "migrations" not in path.parts:
            names.update(regex.findall(path.read_text(encoding="utf-8", errors="replace")))
    return sorted(names)


QUERY_NAMES = harvested_names(
    r"""(?:GET|POST|query_params|data|params|REQUEST)(?:\.get|\.getlist|\.get_list)?[\[(]\s*["']([A-Za-z_][\w\-]*)["']""",
    extra=("page", "start", "end", "q", "shop", "host", "hmac", "timestamp", "code", "state", "id", "embedded",
           "session", "locale", "next", "language", "signature", "logged_in_customer_id", "path_prefix",
           "o", "p", "e", "_changelist_filters", "all", "_popup", "_to_field", "term", "app_label", "model_name",
           "field_name"),
)

#: The few that break the most (PostgreSQL refuses NUL in text; numbers and years out of range).
BREAKERS = ["\x00", "a\x00", "9" * 30, "0001-01-01", "9999-12-31", "1e308", "NaN", "A" * 5000, "-1"]

text_values = st.one_of(
    st.sampled_from(BREAKERS),
    st.sampled_from(NASTY),
    st.text(max_size=24),
    st.integers(min_value=-(10**32), max_value=10**32).map(str),
)
names = st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=8))


@st.composite
def _query_pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    pairs = draw(st.lists(st.tuples(names, text_values), max_size=6))
    if pairs and draw(st.booleans()):  # the same parameter again (first one wins? last one? both?)
        pairs += pairs[:1] * draw(st.integers(min_value=1, max_value=3))
    return pairs


#: Query strings: repeated parameters, huge values, non-ASCII, NUL bytes, 30-digit numbers, odd dates.
query_pairs = _query_pairs()

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([1e308, -1e308, float("nan"), float("inf"), 1.5, 10**20, 2**63, -(2**63) - 1]),
    text_values,
)


def json_values(keys: list[str]) -> st.SearchStrategy[Any]:
    key_strategy = st.one_of(st.sampled_from(keys), st.text(max_size=10)) if keys else st.text(max_size=10)
    return st.recursive(
        json_scalars,
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(key_strategy, children, max_size=5)),
        max_leaves=8,
    )


def _deep(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def json_bodies(keys: list[str]) -> st.SearchStrategy[bytes]:
    """JSON bodies: objects with the fields the endpoint reads (arbitrary values, wrong types), any
    JSON at all, deep nesting, NaN/Infinity, huge numbers, and bytes that are not JSON."""
    objects = st.dictionaries(st.sampled_from(keys), json_values(keys), max_size=len(keys)) if keys else st.nothing()
    return st.one_of(
        objects.map(lambda value: json.dumps(value).encode()),
        json_values(keys).map(lambda value: json.dumps(value).encode()),
        st.sampled_from([_deep(5000), b'{"a":' * 3000 + b"1" + b"}" * 3000, b"NaN", b'{"a": 1e999}', b"",
                         b"\xff\xfe\x00", b'{"a": "\\ud800"}', b"[1,]", b"\x00", b"9" * 5000]),
        st.binary(max_size=64),
    )


def form_bodies(keys: list[str]) -> st.SearchStrategy[str]:
    key_strategy = st.one_of(st.sampled_from(keys or QUERY_NAMES), names)
    return st.lists(st.tuples(key_strategy, text_values), max_size=8).map(urlencode)


def _as_wsgi(text: str) -> str:
    """A header as a WSGI server hands it over: the raw bytes decoded as latin-1, no line breaks."""
    return text.replace("\r", "").replace("\n", "").encode("utf-8").decode("latin-1")


header_text = st.one_of(text_values, st.sampled_from(["Bearer", "Bearer ", "Bearer a.b.c", "Basic Zm9vOmJhcg==",
                                                      "Basic ===", "Bearer é.é.é"])).map(_as_wsgi)

#: The headers we read, each present or not, with arbitrary values.
READ_HEADERS = ("X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id",
                "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-API-Version", "Authorization",
                "X-Forwarded-For", "X-Twilio-Signature", "Accept-Language", "Content-Type", "Host-Fuzz")
headers = st.dictionaries(st.sampled_from(READ_HEADERS), header_text, max_size=5)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def path_value(converter: str) -> st.SearchStrategy[str]:
    """A value for one path segment that the route's converter accepts (so the view is reached)."""
    if converter == "IntConverter":
        return st.one_of(st.integers(min_value=0, max_value=10**30).map(str), st.sampled_from(["0", "9" * 30]))
    if converter == "SlugConverter":
        return st.from_regex(r"\A[-a-zA-Z0-9_]{1,60}\Z")
    if converter == "PathConverter":
        return st.text(st.characters(codec="utf-8", exclude_characters="?#"), min_size=1, max_size=40).map(
            lambda value: value.replace("//", "/"))
    return st.one_of(st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=60),
                     st.sampled_from(["9" * 30, "%00", "..", "A" * 3000, "é"]))


def route_paths(route: Route, known: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """The route's path with each ``<conv:name>`` filled: real values from ``known`` (an id or key
    that exists, so the code behind the lookup runs) or arbitrary ones."""
    parts = []
    for name, converter in route.converters:
        fuzzed = path_value(converter)
        parts.append(st.one_of(st.sampled_from(known[name]), fuzzed) if known.get(name) else fuzzed)

    def fill(values: tuple[str, ...]) -> str:
        filled = iter(values)
        return "/" + re.sub(r"<[^>]+>", lambda _: next(filled), route.template)

    return st.tuples(*parts).map(fill)


# --- signatures, computed here the way the platforms compute them ----------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def session_token(shop_domain: str, *, secret: str = SECRET) -> str:
    """A complete Shopify session token (HS256 over the app secret), valid for a minute."""
    now = int(time.time())
    payload = {"iss": f"https://{shop_domain}/admin", "dest": f"https://{shop_domain}", "aud": API_KEY,
               "sub": "42", "exp": now + 60, "nbf": now - 5, "iat": now - 5, "jti": str(uuid.uuid4()), "sid": "s"}
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


PROXY_PARAMS = ("shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature")


def proxy_signed(pairs: list[tuple[str, str]], *, shop_domain: str, customer_id: str) -> str:
    """The query Shopify's app proxy forwards: the shopper's own parameters plus the proxy's, all
    signed (sorted ``key=value``, repeated keys' values joined by ``,``, hex HMAC-SHA256)."""
    own = [(key, value) for key, value in pairs if key not in PROXY_PARAMS]
    signed = [*own, ("shop", shop_domain), ("logged_in_customer_id", customer_id),
              ("path_prefix", "/apps/comeback"), ("timestamp", str(int(time.time())))]
    grouped: dict[str, list[str]] = {}
    for key, value in signed:
        grouped.setdefault(key, []).append(value)
    message = "".join(f"{key}={','.join(values)}" for key, values in sorted(grouped.items()))
    signature = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode([*signed, ("signature", signature)])


def webhook_hmac(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


# --- real Shopify payloads, mutated ---------------------------------------------------------------

FIXTURES = ROOT / "tests" / "integrations" / "fixtures"
TOPIC_FIXTURES = {
    "orders/create": "shopify_order.json", "orders/updated": "shopify_order.json", "orders/paid": "shopify_order.json",
    "orders/cancelled": "shopify_order.json", "orders/fulfilled": "shopify_order.json",
    "orders/partially_fulfilled": "shopify_order.json", "refunds/create": "shopify_refund.json",
    "customers/create": "shopify_customer.json", "customers/update": "shopify_customer.json",
    "customers/delete": "shopify_customer.json", "products/create": "shopify_product.json",
    "products/update": "shopify_product.json", "shop/update": "shopify_shop.json",
    "app/uninstalled": "shopify_shop.json", "customers/data_request": "shopify_customer.json",
    "customers/redact": "shopify_customer.json", "shop/redact": "shopify_shop.json",
}


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [path] + [p for key, child in value.items() for p in _leaf_paths(child, (*path, key))]
    if isinstance(value, list):
        return [path] + [p for index, child in enumerate(value) for p in _leaf_paths(child, (*path, index))]
    return [path]


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)  # type: ignore[index]
    return copy


@st.composite
def mutated_payload(draw: st.DrawFn, topic: str) -> bytes:
    """A real payload of the topic with a few of its values (at any depth) replaced by hostile ones."""
    payload = json.loads((FIXTURES / TOPIC_FIXTURES[topic]).read_text())
    paths = _leaf_paths(payload)
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        path = draw(st.sampled_from(paths))
        payload = _replace(payload, path, draw(json_values([])))
        paths = _leaf_paths(payload)
    return json.dumps(payload).encode()


# --- the shop the fuzz aims at ----------------------------------------------------------------------


@dataclass
class World:
    shop: Any
    member: Any  # a dashboard login of the shop
    superuser: Any  # a Django admin login
    customer_platform_id: str
    known: dict[str, list[str]]  # path parameter -> values that exist
    unsubscribe_token: str
    survey_token: str


def world_create() -> World:
    """An installed shop with its defaults, a loyalty program, customers with orders, an active
    survey and a reward: what a real shop has, so the fuzz reaches the code past the lookups."""
    shop = ShopFactory(domain=DOMAIN, name="Fuzzed")
    program_enable(shop=shop)
    shopper = CustomerFactory(shop=shop, platform_id="7001", email="noa@example.com", first_name="Noa")
    for index in range(3):
        OrderFactory(shop=shop, customer=shopper, platform_id=f"900{index}", total=Decimal("40.5") * (index + 1),
                     processed_at=datetime(2026, 1, 2 + index, tzinfo=UTC))
    shop_recompute(shop=shop)
    account = account_for_customer(shop=shop, customer=shopper)
    entry_write(account=account, kind="adjust", source="admin", key="fuzz-gift", points=5000, reason="gift")
    reward = Reward.objects.filter(shop=shop).first() or Reward.objects.create(
        shop=shop, name="Five", kind="fixed_amount", points_cost=100, value=5)
    survey = Survey.objects.filter(shop=shop).order_by("pk").first()
    survey_activate(shop=shop, survey_id=survey.pk)
    member = UserFactory(username="fuzz-member")
    membership_grant(user=member, shop=shop, role=MembershipRole.OWNER)
    superuser = User.objects.create_superuser("fuzz-admin", "admin@example.com", "password")
    known = {
        "reward_id": [str(reward.pk)],
        "account_id": [str(account.pk)],
        "customer_id": [str(shopper.pk)],
        "survey_id": [str(pk) for pk in Survey.objects.filter(shop=shop).values_list("pk", flat=True)],
        "key": list(Segment.objects.filter(shop=shop).values_list("key", flat=True)[:5])
        + ["welcome", "win_back", "birthday"],
        "kind": ["purchase", "signup", "birthday", "review"],
        "platform": ["shopify", "shopify", "woocommerce"],  # the inbox of each registered platform
    }
    customer = Customer.objects.get(pk=shopper.pk)
    link = survey_link(shop=shop, customer=customer, survey=survey)
    return World(shop=shop, member=member, superuser=superuser, customer_platform_id=shopper.platform_id,
                 known=known, unsubscribe_token=unsubscribe_token(customer),
                 survey_token=link.rstrip("/").rsplit("/", 1)[-1])
