"""The WSGI application: OAuth, the GraphQL Admin endpoint, bulk files and the control API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    get_variable_values,
    parse,
    validate,
)
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from . import admin, tokens
from .billing import BillingError
from .common import API_VERSION, valid_api_version
from .cost import CostCalculator
from .schema import Ctx
from .store import PRIVACY_TOPICS, OAuthCode, SandboxError, Shop
from .storefront import (
    PROXY_PREFIXES,
    app_proxy,
    discount_link,
    extension_asset,
    login_page,
    logout,
    storefront_page,
    theme_editor_page,
)

if TYPE_CHECKING:
    from .sandbox import ShopifySandbox

THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=_default)
    return Response(body, status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:48rem}"
           "button{font-size:1.1rem;padding:.5rem 1.5rem}</style></head>"
           f"<body>{body}</body></html>")
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def oauth_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's OAuth query signature (what ``shopify.Session.calculate_hmac`` checks)."""
    pairs = []
    for key, value in params.items():
        if key == "hmac":
            continue
        k = str(key).replace("%", "%25").replace("=", "%3D")
        v = str(value).replace("%", "%25")
        pairs.append(f"{k}={v}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class SandboxApp:
    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox
        shop = "/shops/<shop>"
        control = "/_sandbox/shops/<shop>"
        self.url_map = Map([
            Rule("/", endpoint="index"),
            Rule(f"{shop}/admin/oauth/authorize", endpoint="authorize", methods=["GET", "POST"]),
            Rule(f"{shop}/admin/oauth/access_token", endpoint="access_token", methods=["POST"]),
            Rule(f"{shop}/admin/api/<version>/graphql.json", endpoint="graphql",
                 methods=["POST"]),
            Rule(f"{shop}/admin/api/graphql.json", endpoint="graphql", methods=["POST"]),
            Rule(f"{shop}/admin/themes/current/editor", endpoint="theme_editor", methods=["GET", "POST"]),
            Rule(f"{shop}/admin/apps", endpoint="admin_apps"),
            Rule(f"{shop}/admin/apps/<api_key>", endpoint="admin_app", methods=["GET", "POST"]),
            Rule(f"{shop}/admin/apps/<api_key>/session_token", endpoint="admin_session_token",
                 methods=["POST"]),
            Rule("/cdn/shopifycloud/app-bridge.js", endpoint="app_bridge_js"),
            Rule("/cdn/admin-frame.js", endpoint="admin_frame_js"),
            Rule(f"{shop}/admin/charges/<api_key>/<int:charge_id>/RecurringApplicationCharge/"
                 "confirm_recurring_application_charge", endpoint="charge_confirm", methods=["GET", "POST"]),
            Rule(f"{shop}/admin/<path:rest>", endpoint="admin_other",
                 methods=["GET", "POST", "PUT", "DELETE"]),
            Rule(f"{shop}/", endpoint="storefront"),
            Rule(f"{shop}/account/login", endpoint="account_login"),
            Rule(f"{shop}/account/logout", endpoint="account_logout"),
            Rule(f"{shop}/discount/<code>", endpoint="discount_link"),
            Rule(f"{shop}/<any({', '.join(PROXY_PREFIXES)}):prefix>/<subpath>", endpoint="app_proxy",
                 methods=PROXY_METHODS),
            Rule(f"{shop}/<any({', '.join(PROXY_PREFIXES)}):prefix>/<subpath>/<path:rest>",
                 endpoint="app_proxy", methods=PROXY_METHODS),
            Rule("/bulk/<name>", endpoint="bulk_file", methods=["GET"]),
            Rule("/extensions/<handle>/<version>/assets/<name>", endpoint="extension_asset", methods=["GET"]),
            Rule("/_sandbox/health", endpoint="health"),
            Rule("/_sandbox/shops", endpoint="shops", methods=["GET", "POST"]),
            Rule(control, endpoint="shop_summary"),
            Rule(f"{control}/token", endpoint="token", methods=["POST"]),
            Rule(f"{control}/orders", endpoint="place_order", methods=["POST"]),
            Rule(f"{control}/orders/<order_id>", endpoint="get_order"),
            Rule(f"{control}/orders/<order_id>/<action>", endpoint="order_action",
                 methods=["POST"]),
            Rule(f"{control}/customers", endpoint="create_customer", methods=["POST"]),
            Rule(f"{control}/customers/<customer_id>", endpoint="customer",
                 methods=["GET", "POST", "PATCH", "DELETE"]),
            Rule(f"{control}/products/<product_id>", endpoint="update_product",
                 methods=["POST", "PATCH"]),
            Rule(f"{control}/discount_codes", endpoint="discount_codes"),
            Rule(f"{control}/uninstall", endpoint="uninstall", methods=["POST"]),
            Rule(f"{control}/app_embed", endpoint="app_embed", methods=["GET", "POST"]),
            Rule(f"{control}/app_subscriptions", endpoint="app_subscriptions", methods=["GET"]),
            Rule(f"{control}/app_subscriptions/<int:charge_id>", endpoint="app_subscription_status",
                 methods=["POST"]),
            Rule(f"{control}/rate_limit", endpoint="rate_limit", methods=["POST"]),
            Rule(f"{control}/manual_approval", endpoint="manual_approval", methods=["POST"]),
            Rule(f"{control}/privacy/<path:topic>", endpoint="privacy", methods=["POST"]),
            Rule("/_sandbox/deliveries", endpoint="deliveries"),
            Rule("/_sandbox/webhooks/<action>", endpoint="webhook_control", methods=["POST"]),
            Rule("/_sandbox/live", endpoint="live", methods=["POST", "DELETE"]),
        ])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            handler = getattr(self, f"on_{endpoint}")
            response = handler(request, **values)
        except SandboxError as exc:
            response = _json({"error": str(exc)}, 400)
        except NotFound:
            response = _json({"errors": "Not Found"}, 404)
        except HTTPException as exc:
            response = exc.get_response(environ)  # type: ignore[assignment]
        return response(environ, start_response)

    # --- helpers -----------------------------------------------------------------------------

    def _shop(self, domain: str) -> Shop:
        shop = self.sandbox.find_shop(domain)
        if shop is None:
            raise NotFound()
        return shop

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.mimetype == "application/json":
            data = request.get_json(silent=True)
            return data if isinstance(data, dict) else {}
        return dict(request.form.items()) or dict(request.args.items())

    # --- pages -------------------------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        rows = "".join(
            f"<li><b>{html.escape(s.domain)}</b> — {len(s.customers)} customers, "
            f"{len(s.orders)} orders, origin <code>{html.escape(s.origin)}</code>, "
            f"<a href='{html.escape(s.origin)}/'>storefront</a></li>"
            for s in self.sandbox.shops)
        return _page("Shopify sandbox", f"<h1>Shopify sandbox</h1><ul>{rows}</ul>"
                     "<p>Control API under <code>/_sandbox/</code>.</p>")

    # --- storefront (the shopper's side) ------------------------------------------------------

    def on_extension_asset(self, request: Request, handle: str, version: str, name: str) -> Response:
        return extension_asset(self.sandbox, handle, name)

    def on_theme_editor(self, request: Request, shop: str) -> Response:
        return theme_editor_page(self.sandbox, self._shop(shop), request)

    def on_charge_confirm(self, request: Request, shop: str, api_key: str, charge_id: int) -> Response:
        """Shopify's approval page for a recurring app charge: the merchant sees the plan, its price
        and trial, and approves or declines; either way Shopify sends them to the app's returnUrl
        with ``charge_id``.  Only the link ``appSubscriptionCreate`` returned opens it."""
        store = self._shop(shop)
        subscription = store.billing.subscriptions.get(charge_id)
        signature = (request.form if request.method == "POST" else request.args).get("signature", "")
        if (api_key != self.sandbox.api_key or subscription is None
                or not hmac.compare_digest(signature, subscription.signature)):
            return _page("Charge not found", "<h1>This charge could not be found</h1>", 404)
        if request.method == "POST":
            decision = request.form.get("decision", "")
            if decision not in ("approve", "decline"):
                return _page("Charge", "<h1>Choose Approve or Decline</h1>", 400)
            try:
                store.billing.decide(charge_id, approve=decision == "approve")
            except BillingError as error:
                return _page("Charge", f"<h1>{html.escape(str(error))}</h1>", 409)
            return Response("", status=302, headers={"Location": store.billing.return_location(subscription)})
        if subscription.status != "PENDING":
            return _page("Charge", f"<h1>This charge is {html.escape(subscription.status.lower())}</h1>"
                         f"<p><a href='{html.escape(store.billing.return_location(subscription))}'>"
                         "Return to the app</a></p>", 409)
        interval = "every 30 days" if subscription.interval == "EVERY_30_DAYS" else "every year"
        trial = (f"<p>Free trial: {subscription.trial_days} days. You will not be charged before it ends.</p>"
                 if subscription.trial_days else "")
        test = ("<p role='note'><strong>Test charge</strong>: this is a test, your store will not be "
                "charged.</p>" if subscription.test else "")
        hidden = f"<input type='hidden' name='signature' value='{html.escape(subscription.signature)}'>"
        return _page(f"Approve subscription · {store.name}", (
            f"<h1>Approve subscription</h1><p>{html.escape(store.name)} · app subscription</p>"
            f"<h2>{html.escape(subscription.name)}</h2>"
            f"<p><strong>{html.escape(subscription.currency)} {subscription.price:.2f}</strong> {interval}</p>"
            f"{trial}{test}"
            f"<form method='post'>{hidden}<button type='submit' name='decision' value='approve'>Approve"
            "</button> <button type='submit' name='decision' value='decline'>Decline</button></form>"))

    def on_app_subscriptions(self, request: Request, shop: str) -> Response:
        store = self._shop(shop)
        return _json([{"id": s.gid, "name": s.name, "status": s.status, "test": s.test, "price": s.price,
                       "currency": s.currency, "trial_days": s.trial_days, "return_url": s.return_url,
                       "confirmation_url": store.billing.confirmation_url(s, self.sandbox.api_key)}
                      for s in store.billing.subscriptions.values()])

    def on_app_subscription_status(self, request: Request, shop: str, charge_id: int) -> Response:
        """The store's side of a subscription: ``{"status": "FROZEN"|"ACTIVE"|"EXPIRED"|"CANCELLED"}``
        (the store's bill unpaid, paid again, an approval not given in time, cancelled in the admin),
        or ``{"decision": "approve"|"decline"}`` for the merchant's choice without the page."""
        store = self._shop(shop)
        body = self._body(request)
        try:
            if body.get("decision") in ("approve", "decline"):
                subscription = store.billing.decide(charge_id, approve=body["decision"] == "approve")
            else:
                subscription = store.billing.set_status(charge_id, str(body.get("status", "")).upper())
        except BillingError as error:
            return _json({"error": str(error)}, 400)
        return _json({"id": subscription.gid, "status": subscription.status})

    def on_app_embed(self, request: Request, shop: str) -> Response:
        """The theme editor's App embeds: ``{"enabled": true, "settings": {"accent": "#…"}}``."""
        store = self._shop(shop)
        if request.method == "POST":
            body = self._body(request)
            settings = body.get("settings")
            if settings is not None and not isinstance(settings, dict):
                raise SandboxError("settings is an object of the block's setting ids")

            def flag(name: str) -> bool | None:
                value = body.get(name)
                return None if value is None else str(value).lower() not in ("0", "false", "off", "")

            extension = self.sandbox.theme_extension
            if settings and (extension is None or not extension.app_embeds):
                raise SandboxError("the app has no app embed to configure")
            if settings and extension is not None:
                settings = extension.app_embeds[0].settings_clean(settings)
            store.app_embed_set(enabled=flag("enabled"), settings=settings, widget_snippet=flag("widget_snippet"))
        return _json(store.summary()["app_embed"])

    # --- the merchant's admin (Apps, managed install, the embedded app's frame) ------------------

    def on_admin_apps(self, request: Request, shop: str) -> Response:
        return admin.apps_page(self.sandbox, self._shop(shop), request)

    def on_admin_app(self, request: Request, shop: str, api_key: str) -> Response:
        return admin.app_page(self.sandbox, self._shop(shop), request, api_key)

    def on_admin_session_token(self, request: Request, shop: str, api_key: str) -> Response:
        store = self._shop(shop)
        if api_key != self.sandbox.api_key:
            raise NotFound()
        return admin.session_token_response(self.sandbox, store)

    def on_app_bridge_js(self, request: Request) -> Response:
        return admin.script(admin.APP_BRIDGE_JS)

    def on_admin_frame_js(self, request: Request) -> Response:
        return admin.script(admin.ADMIN_FRAME_JS)

    def on_storefront(self, request: Request, shop: str) -> Response:
        return storefront_page(self.sandbox, self._shop(shop), request)

    def on_account_login(self, request: Request, shop: str) -> Response:
        return login_page(self._shop(shop), request)

    def on_account_logout(self, request: Request, shop: str) -> Response:
        return logout(self._shop(shop), request)

    def on_discount_link(self, request: Request, shop: str, code: str) -> Response:
        return discount_link(self._shop(shop), request, code)

    def on_app_proxy(self, request: Request, shop: str, prefix: str, subpath: str, rest: str = ""
                     ) -> Response:
        return app_proxy(self.sandbox, self._shop(shop), request, f"/{prefix}/{subpath}", rest)

    def on_health(self, request: Request) -> Response:
        return _json({"ok": True, "shops": [s.domain for s in self.sandbox.shops]})

    # --- OAuth -------------------------------------------------------------------------------

    def on_authorize(self, request: Request, shop: str) -> Response:
        store = self._shop(shop)
        params = request.form if request.method == "POST" else request.args
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        scope = params.get("scope", "")
        state = params.get("state")
        if client_id != self.sandbox.api_key:
            return _page("Oauth error", "<h1>Oauth error invalid_request: Could not find "
                         f"Shopify API application with api_key {html.escape(client_id)}</h1>",
                         400)
        if not redirect_uri:
            return _page("Oauth error", "<h1>Oauth error invalid_request: The redirect_uri is "
                         "missing</h1>", 400)
        allowed = self.sandbox.redirect_uris
        if allowed and not any(redirect_uri.startswith(u) for u in allowed):
            return _page("Oauth error", "<h1>Oauth error invalid_request: The redirect_uri is "
                         "not whitelisted</h1>", 400)
        if store.manual_approval and request.method == "GET":
            hidden = "".join(
                f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                for k, v in params.items())
            return _page("Install app", f"<h1>Install app on {html.escape(store.name)}?</h1>"
                         f"<p>Requested access: <code>{html.escape(scope)}</code></p>"
                         f"<form method='post'>{hidden}<button type='submit'>Install</button>"
                         "</form>")
        code = secrets.token_hex(16)
        with store.lock:
            store.codes[code] = OAuthCode(code, [s for s in scope.split(",") if s.strip()],
                                          time.time() + 60)
        query: dict[str, str] = {
            "code": code,
            "host": base64.b64encode(f"admin.shopify.com/store/{store.handle}".encode()).decode(),
            "shop": store.domain,
        }
        if state is not None:
            query["state"] = state
        query["timestamp"] = str(int(time.time()))
        query["hmac"] = oauth_hmac(query, self.sandbox.api_secret)
        ordered = {k: query[k] for k in ("code", "hmac", "host", "shop", "state", "timestamp")
                   if k in query}
        parts = urlparse(redirect_uri)
        existing = parse_qsl(parts.query, keep_blank_values=True)
        location = urlunparse(parts._replace(query=urlencode([*existing, *ordered.items()])))
        return Response("", status=302, headers={"Location": location})

    def on_access_token(self, request: Request, shop: str) -> Response:
        """The code grant, ``grant_type=refresh_token`` and token exchange; ``expiring=1`` asks
        for an expiring offline token with a refresh token."""
        store = self._shop(shop)
        body = self._body(request)
        sandbox = self.sandbox
        if body.get("client_id") != sandbox.api_key or body.get("client_secret") != sandbox.api_secret:
            return _json({"error": "invalid_request", "error_description":
                          "The client credentials are invalid"}, 400)
        grant_type = str(body.get("grant_type") or "authorization_code")
        sandbox.token_requests.append({  # what the app asked for, without its secrets
            "shop": store.domain, "grant_type": grant_type, "expiring": str(body.get("expiring", "")),
            **{k: str(body[k]) for k in ("subject_token_type", "requested_token_type") if k in body}})
        try:
            if grant_type == "refresh_token":
                return _json(tokens.refresh(store, str(body.get("refresh_token") or ""),
                                            policy=sandbox.token_policy))
            if grant_type == tokens.TOKEN_EXCHANGE:
                scopes = [s.strip() for s in sandbox.default_scopes.split(",") if s.strip()]
                return _json(tokens.exchange(store, body, api_key=sandbox.api_key,
                                             api_secret=sandbox.api_secret, scopes=scopes,
                                             policy=sandbox.token_policy))
        except tokens.TokenError as error:
            return _json({"error": error.error, "error_description": error.description}, error.status)
        if grant_type != "authorization_code":
            return _json({"error": "unsupported_grant_type", "error_description": grant_type}, 400)
        with store.lock:
            code = store.codes.get(str(body.get("code", "")))
            if code is None or code.used or code.expires < time.time():
                return _json({"error": "invalid_request", "error_description":
                              "The authorization code was not found or was already used"}, 400)
            code.used = True
        return _json(tokens.grant(store, code.scopes, policy=sandbox.token_policy,
                                  expiring=str(body.get("expiring", "")) == "1"))

    # --- GraphQL -----------------------------------------------------------------------------

    def on_admin_other(self, request: Request, shop: str, rest: str) -> Response:
        self._shop(shop)
        return _json({"errors": "Not Found"}, 404)

    def on_graphql(self, request: Request, shop: str, version: str = API_VERSION) -> Response:
        store = self._shop(shop)
        if not valid_api_version(version):
            return _json({"errors": "Not Found"}, 404)
        headers = {"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())}
        token = request.headers.get("X-Shopify-Access-Token")
        accepted, refusal = tokens.usable(store, token, policy=self.sandbox.token_policy)
        access = store.tokens.get(token or "")
        if not accepted or access is None:
            return _json({"errors": refusal or INVALID_TOKEN}, 401, headers)
        if request.mimetype == "application/graphql":
            payload: Any = {"query": request.get_data(as_text=True)}
        else:
            payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400,
                         headers)
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return _json({"errors": {"variables": "must be an object"}}, 400, headers)
        result = self.run_graphql(store, payload["query"], variables,
                                  payload.get("operationName"), frozenset(access.scopes), version)
        return _json(result, 200, headers)

    def run_graphql(self, store: Shop, query: str, variables: dict[str, Any],
                    operation_name: str | None, scopes: frozenset[str] | None,
                    version: str = API_VERSION) -> dict[str, Any]:
        """Cost check, throttle, execute; the JSON body Shopify would answer with."""
        sandbox = self.sandbox
        schema = sandbox.schema

        def cost(requested: int, actual: int | None) -> dict[str, Any]:
            return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                             "throttleStatus": store.bucket.status()}}

        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"errors": [exc.formatted], "extensions": cost(0, 0)}
        errors = validate(schema, document)
        if errors:
            return {"errors": [e.formatted for e in errors], "extensions": cost(0, 0)}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            message = (f"Unknown operation named \"{operation_name}\"." if operation_name else
                       "An operation name is required when several operations are sent.")
            return {"errors": [{"message": message}], "extensions": cost(0, 0)}
        operation = operations[0]
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return {"errors": [e.formatted for e in coerced], "extensions": cost(0, 0)}
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        calc = CostCalculator(schema, fragments, coerced.coerced)
        requested = calc.operation_cost(operation)
        if calc.errors:
            return {"errors": [e.formatted for e in calc.errors], "extensions": cost(requested,
                                                                                    None)}
        limit = sandbox.max_query_cost
        if limit is not None and requested > limit:
            return {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                           f"limit ({limit}).\n\nSee https://shopify.dev/concepts/about-apis/"
                           "rate-limits for more information on how the\ncost of a query is "
                           "calculated.\n\nTo query larger amounts of data with fewer limits, bulk"
                           " operations should be used instead.\nSee https://shopify.dev/"
                           "tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": limit, "documentation": THROTTLE_DOCS},
            }], "extensions": cost(requested, None)}
        if not store.bucket.try_take(requested):
            return {"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": THROTTLE_DOCS}}],
                "extensions": cost(requested, None)}
        orders_since = None
        if (sandbox.require_read_all_orders and scopes is not None
                and "read_all_orders" not in scopes):
            orders_since = store.now() - timedelta(days=60)
        ctx = Ctx(lookup=store, shop=store, scopes=scopes if sandbox.enforce_scopes else None,
                  bulk=sandbox.bulk, api_version=version, orders_since=orders_since,
                  api_key=sandbox.api_key)
        with store.lock:
            result = execute(schema, document, context_value=ctx, variable_values=variables,
                             operation_name=operation_name)
        assert not hasattr(result, "__await__")
        data = result.data  # type: ignore[union-attr]
        actual = calc.operation_cost(operation, data, actual=True) if data is not None else 0
        if operation.operation.value == "mutation":
            actual = requested
        store.bucket.refund(requested - actual)
        body: dict[str, Any] = {}
        if result.errors:  # type: ignore[union-attr]
            body["errors"] = [e.formatted for e in result.errors]  # type: ignore[union-attr]
        body["data"] = data
        body["extensions"] = cost(requested, actual)
        return body

    # --- bulk files --------------------------------------------------------------------------

    def on_bulk_file(self, request: Request, name: str) -> Response:
        path = self.sandbox.bulk.file(name)
        if path is None:
            raise NotFound()
        return send_file(path, request.environ, mimetype="application/jsonl",
                         download_name=name)

    # --- control API -------------------------------------------------------------------------

    def on_shops(self, request: Request) -> Response:
        if request.method == "POST":
            body = self._body(request)
            domain = body.pop("domain", None)
            if not domain:
                raise SandboxError("domain is required")
            kwargs = {k: body[k] for k in ("seed", "customers", "orders", "products", "currency",
                                           "months", "manual_approval") if k in body}
            shop = self.sandbox.add_shop(domain, **kwargs)
            return _json(shop.summary(), 201)
        return _json([s.summary() for s in self.sandbox.shops])

    def on_shop_summary(self, request: Request, shop: str) -> Response:
        return _json(self._shop(shop).summary())

    def on_token(self, request: Request, shop: str) -> Response:
        """An install without OAuth: an expiring token with its refresh token, or a legacy
        non-expiring one with ``"expiring": false``."""
        body = self._body(request)
        scopes = body.get("scopes") or self.sandbox.default_scopes
        return _json(self.sandbox.grant(self._shop(shop).domain, scopes,
                                        expiring=str(body.get("expiring", "1")).lower() not in ("0", "false")))

    def on_place_order(self, request: Request, shop: str) -> Response:
        body = self._body(request)
        lines = body.get("line_items")
        store = self._shop(shop)
        order = store.place_order(
            body.get("customer_id"),
            line_items=[(v, int(q)) for v, q in lines] if lines else None,
            discount_code=body.get("discount_code"),
            financial_status=body.get("financial_status", "paid"),
            new_customer=bool(body.get("new_customer")),
        )
        return _json(store.order_json(order.id), 201)

    def on_get_order(self, request: Request, shop: str, order_id: str) -> Response:
        return _json(self._shop(shop).order_json(order_id))

    def on_order_action(self, request: Request, shop: str, order_id: str, action: str
                        ) -> Response:
        store = self._shop(shop)
        body = self._body(request)
        if action == "refund":
            lines = body.get("line_items")
            shipping = body.get("shipping")
            refund = store.refund_order(
                order_id, [(li, int(q)) for li, q in lines] if lines is not None else None,
                Decimal(str(shipping)) if shipping is not None else None,
                note=body.get("note"), restock=bool(body.get("restock", True)))
            return _json(store.refund_json(refund))
        elif action == "cancel":
            order = store.cancel_order(order_id, body.get("reason", "customer"),
                                       refund=bool(body.get("refund", True)))
        elif action in ("fulfil", "fulfill"):
            order = store.fulfil_order(order_id)
        elif action in ("paid", "mark_paid"):
            order = store.mark_paid(order_id)
        else:
            raise NotFound()
        return _json(store.order_json(order.id))

    def on_create_customer(self, request: Request, shop: str) -> Response:
        store = self._shop(shop)
        return _json(store.customer_json(store.create_customer(**self._body(request))), 201)

    def on_customer(self, request: Request, shop: str, customer_id: str) -> Response:
        store = self._shop(shop)
        if request.method == "GET":
            return _json(store.customer_json(customer_id))
        if request.method == "DELETE":
            deleted = store.delete_customer(customer_id)
            return _json({"id": deleted.id, "deleted": True})
        return _json(store.customer_json(store.update_customer(customer_id,
                                                               **self._body(request))))

    def on_update_product(self, request: Request, shop: str, product_id: str) -> Response:
        store = self._shop(shop)
        product = store.update_product(product_id, **self._body(request))
        return _json(store.product_json(product.id))

    def on_discount_codes(self, request: Request, shop: str) -> Response:
        return _json([{
            "id": d.gid, "code": d.code, "title": d.title, "kind": d.kind,
            "starts_at": d.starts_at, "ends_at": d.ends_at, "usage_limit": d.usage_limit,
            "usage_count": d.usage_count, "input": d.input,
        } for d in self._shop(shop).discount_codes])

    def on_uninstall(self, request: Request, shop: str) -> Response:
        return _json(self._shop(shop).uninstall())

    def on_rate_limit(self, request: Request, shop: str) -> Response:
        store = self._shop(shop)
        body = self._body(request)
        if body.get("drain"):
            store.bucket.drain()
        if "bucket_size" in body or "restore_rate" in body:
            store.set_rate_limit(float(body.get("bucket_size", store.bucket.maximum)),
                                 float(body.get("restore_rate", store.bucket.restore_rate)))
        return _json(store.bucket.status())

    def on_manual_approval(self, request: Request, shop: str) -> Response:
        store = self._shop(shop)
        store.manual_approval = bool(self._body(request).get("enabled", True))
        return _json({"manual_approval": store.manual_approval})

    def on_privacy(self, request: Request, shop: str, topic: str) -> Response:
        store = self._shop(shop)
        topic = topic.replace("customers_", "customers/", 1).replace("shop_", "shop/", 1)
        if topic not in PRIVACY_TOPICS:
            raise NotFound()
        customer_id = self._body(request).get("customer_id")
        if topic == "shop/redact":
            return _json(store.redact_shop())
        if customer_id is None:
            raise SandboxError("customer_id is required")
        if topic == "customers/data_request":
            return _json(store.request_customer_data(customer_id))
        return _json(store.redact_customer(customer_id))

    def on_deliveries(self, request: Request) -> Response:
        args = request.args
        with_body = args.get("body") in ("1", "true")
        items = self.sandbox.webhooks.deliveries(args.get("topic"), args.get("shop"),
                                                 args.get("state"))
        return _json([{
            "seq": d.seq, "topic": d.topic, "shop": d.shop_domain, "uri": d.uri,
            "webhook_id": d.webhook_id, "event_id": d.event_id, "state": d.state,
            "attempts": d.attempts, "status_codes": d.status_codes,
            "duplicate_of": d.duplicate_of, "triggered_at": d.triggered_at,
            **({"payload": d.payload} if with_body else {}),
        } for d in items])

    def on_webhook_control(self, request: Request, action: str) -> Response:
        hooks = self.sandbox.webhooks
        body = self._body(request)
        if action == "hold":
            hooks.hold()
        elif action == "release":
            hooks.release(body.get("order", "fifo"))
        elif action == "drop_next":
            hooks.drop_next(int(body.get("n", 1)), body.get("topic"))
        elif action == "duplicate_next":
            hooks.duplicate_next(int(body.get("n", 1)), body.get("topic"),
                                 same_id=bool(body.get("same_id")))
        elif action == "secret":
            self.sandbox.set_api_secret(str(body["secret"]))
        elif action == "wait_idle":
            return _json({"idle": hooks.wait_idle(float(body.get("timeout", 10)))})
        else:
            raise NotFound()
        return _json({"ok": True})

    def on_live(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sandbox.stop_live()
            return _json({"live": False})
        interval = float(self._body(request).get("interval_seconds", 5))
        self.sandbox.start_live(interval)
        return _json({"live": True, "interval_seconds": interval})
