"""The WSGI application: the WordPress sites under ``/stores/<name>`` (REST API, wc-auth, the
storefront and the Comeback plugin's routes) and the control API under ``/_sandbox``."""

from __future__ import annotations

import html
import json
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import admin, storefront
from .auth import authenticate, check_permissions
from .common import WC_VERSION, WP_VERSION, WPError
from .rest import RestApi, error_response, json_response

if TYPE_CHECKING:
    from .sandbox import WooCommerceSandbox
    from .store import WooStore

log = logging.getLogger(__name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
WC_AUTH_PARAMS = ("app_name", "user_id", "return_url", "callback_url", "scope")


def html_page(title: str, body: str, status: int = 200, lang: str = "en") -> Response:
    doc = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<meta name='viewport' content='width=device-width,initial-scale=1'>"
           "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:52rem}"
           ".button{font-size:1.05rem;padding:.5rem 1.4rem;margin-right:.5rem}</style></head>"
           f"<body>{body}</body></html>")
    return Response(doc, status=status, content_type="text/html; charset=UTF-8")


def wp_die(message: str, title: str, status: int) -> Response:
    """WordPress's error page (``wp_die``)."""
    return html_page(title, f"<div class='wp-die-message'><p>{html.escape(message)}</p></div>", status)


def add_query_arg(url: str, **params: Any) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class SandboxApp:
    def __init__(self, sandbox: WooCommerceSandbox) -> None:
        self.sandbox = sandbox
        self.rest = RestApi(sandbox)
        site = "/stores/<store>"
        control = "/_sandbox/stores/<store>"
        self.url_map = Map([
            Rule("/", endpoint="index"),
            Rule(f"{site}", endpoint="storefront", strict_slashes=False),
            Rule(f"{site}/wp-json", endpoint="wp_index", strict_slashes=False),
            Rule(f"{site}/wp-json/wc/v3", endpoint="rest", defaults={"path": ""}, methods=METHODS),
            Rule(f"{site}/wp-json/wc/v3/<path:path>", endpoint="rest", methods=METHODS),
            Rule(f"{site}/wp-json/comeback/v1", endpoint="plugin_proxy", defaults={"path": ""}, methods=METHODS),
            Rule(f"{site}/wp-json/comeback/v1/<path:path>", endpoint="plugin_proxy", methods=METHODS),
            Rule(f"{site}/wc-auth/v1/<route>", endpoint="wc_auth", methods=["GET", "POST"]),
            Rule(f"{site}/my-account", endpoint="my_account", methods=["GET", "POST"], strict_slashes=False),
            Rule(f"{site}/my-account/customer-logout", endpoint="logout", strict_slashes=False),
            Rule(f"{site}/cart", endpoint="cart", methods=["GET", "POST"], strict_slashes=False),
            Rule(f"{site}/checkout", endpoint="checkout", methods=["POST"], strict_slashes=False),
            Rule(f"{site}/product/<slug>", endpoint="product_page", strict_slashes=False),
            Rule(f"{site}/shop", endpoint="storefront", strict_slashes=False),
            Rule(f"{site}/wp-admin", endpoint="wp_admin", strict_slashes=False),
            Rule(f"{site}/wp-admin/admin.php", endpoint="wp_admin"),
            Rule(f"{site}/wp-admin/admin-post.php", endpoint="admin_post", methods=["GET", "POST"]),
            Rule("/_sandbox/health", endpoint="health"),
            Rule("/_sandbox/stores", endpoint="stores", methods=["GET", "POST"]),
            Rule(f"{control}", endpoint="store_summary"),
            Rule(f"{control}/api_keys", endpoint="api_keys", methods=["POST"]),
            Rule(f"{control}/plugin", endpoint="plugin", methods=["POST"]),
            Rule(f"{control}/orders", endpoint="control_orders", methods=["POST"]),
            Rule(f"{control}/orders/<int:order_id>/<action>", endpoint="control_order_action", methods=["POST"]),
            Rule(f"{control}/customers", endpoint="control_customers", methods=["POST"]),
            Rule(f"{control}/faults", endpoint="faults", methods=["POST"]),
            Rule(f"{control}/webhooks/flush", endpoint="flush", methods=["POST"]),
            Rule(f"{control}/deliveries", endpoint="deliveries"),
        ])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as error:
            if request.path.startswith("/stores/") and "/wp-json/" in request.path:
                return error_response(WPError("rest_no_route",
                                              "No route was found matching the URL and request method.", 404))
            return error  # type: ignore[return-value]
        values = dict(values)
        store = None
        if "store" in values:
            store = self.sandbox.find_store(values.pop("store"))
            if store is None:
                return html_page("Not found", "<h1>Not Found</h1><p>No such store.</p>", 404)
        try:
            handler = getattr(self, f"on_{endpoint}")
            return handler(request, store, **values) if store is not None else handler(request, **values)
        except WPError as error:
            return error_response(error)
        except HTTPException as error:
            return error  # type: ignore[return-value]
        except (ValueError, TypeError, KeyError) as error:  # input the routes did not foresee: a 400, logged
            log.warning("bad request to %s: %r", request.path, error)
            return error_response(WPError("rest_invalid_param", f"Invalid parameter(s): {error}", 400))

    # --- sandbox ----------------------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        items = "".join(f"<li><a href='{html.escape(s.url)}/'>{html.escape(s.site_name)}</a> "
                        f"<code>{html.escape(s.url)}</code></li>" for s in self.sandbox.stores)
        return html_page("WooCommerce sandbox", f"<h1>WooCommerce sandbox</h1><ul>{items}</ul>")

    def on_health(self, request: Request) -> Response:
        return json_response({"ok": True, "stores": [s.name for s in self.sandbox.stores]})

    def on_stores(self, request: Request) -> Response:
        if request.method == "POST":
            data = request.get_json(silent=True) or {}
            name = str(data.get("name") or "")
            if not name:
                return json_response({"error": "name is required"}, 400)
            from sandbox.store.generator import StoreSpec
            spec_fields = {k: data[k] for k in ("seed", "customers", "orders", "products", "currency")
                           if k in data}
            store = self.sandbox.add_store(name, spec=StoreSpec(**spec_fields))
            return json_response(self._summary(store), 201)
        return json_response([self._summary(s) for s in self.sandbox.stores])

    def _summary(self, store: WooStore) -> dict[str, Any]:
        with store.lock:
            return {"name": store.name, "url": store.url, "domain": store.domain, "currency": store.currency,
                    "timezone": store.timezone_name, "customers": len(store.customers),
                    "orders": len(store.orders), "products": len(store.products),
                    "webhooks": [store.webhook_json(w) | {"failure_count": w.failure_count}
                                 for w in store.webhooks.values()],
                    "plugin": {k: v for k, v in (store.plugin or {}).items() if k != "secret"}}

    def on_store_summary(self, request: Request, store: WooStore) -> Response:
        return json_response(self._summary(store))

    def on_api_keys(self, request: Request, store: WooStore) -> Response:
        data = request.get_json(silent=True) or {}
        key = self.sandbox.create_api_key(store.name, permissions=str(data.get("permissions") or "read_write"),
                                          description=str(data.get("description") or "Sandbox"))
        return json_response({"key_id": key.key_id, "user_id": key.user_id, "consumer_key": key.consumer_key,
                              "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}, 201)

    def on_plugin(self, request: Request, store: WooStore) -> Response:
        data = request.get_json(silent=True) or {}
        if not data.get("app_url"):
            return json_response({"error": "app_url is required"}, 400)
        self.sandbox.set_plugin(store.name, app_url=str(data["app_url"]), shop_domain=data.get("shop_domain"),
                                secret=data.get("secret") or None)
        return json_response({"ok": True})

    def on_control_orders(self, request: Request, store: WooStore) -> Response:
        data = request.get_json(silent=True) or {}
        order = store.place_order(customer_id=data.get("customer_id"),
                                  items=[tuple(i) for i in data["items"]] if data.get("items") else None,
                                  coupons=data.get("coupons") or (), paid=bool(data.get("paid", True)),
                                  email=data.get("email"))
        with store.lock:
            return json_response(store.order_json(order), 201)

    def on_control_order_action(self, request: Request, store: WooStore, order_id: int, action: str) -> Response:
        data = request.get_json(silent=True) or {}
        if action == "refund":
            lines = [tuple(x) for x in data["lines"]] if data.get("lines") else None
            store.refund_order(order_id, lines=lines, amount=data.get("amount"), reason=str(data.get("reason") or ""))
        elif action in ("complete", "cancel", "pay"):
            {"complete": store.complete_order, "cancel": store.cancel_order, "pay": store.mark_paid}[action](order_id)
        elif action == "status":
            store.set_order_status(order_id, str(data.get("status") or ""))
        else:
            return json_response({"error": f"unknown action {action}"}, 404)
        with store.lock:
            return json_response(store.order_json(store.order(order_id)))

    def on_control_customers(self, request: Request, store: WooStore) -> Response:
        data = request.get_json(silent=True) or {}
        customer = store.create_customer(email=str(data.get("email") or ""),
                                         first_name=str(data.get("first_name") or ""),
                                         last_name=str(data.get("last_name") or ""))
        with store.lock:
            return json_response(store.customer_json(customer), 201)

    def on_faults(self, request: Request, store: WooStore) -> Response:
        data = request.get_json(silent=True) or {}
        kind = data.get("kind", "fail")
        if kind == "hang":
            self.sandbox.hang_next(store.name, int(data.get("n", 1)), seconds=float(data.get("seconds", 30)))
        elif kind == "rate_limit":
            self.sandbox.rate_limit(store.name, per_second=data.get("per_second"), burst=int(data.get("burst", 10)))
        elif kind == "drop_delivery":
            self.sandbox.drop_next_delivery(store.name, int(data.get("n", 1)))
        else:
            self.sandbox.fail_next(store.name, int(data.get("n", 1)), status=int(data.get("status", 429)),
                                   retry_after=data.get("retry_after"))
        return json_response({"ok": True})

    def on_flush(self, request: Request, store: WooStore) -> Response:
        return json_response({"delivered": self.sandbox.flush_webhooks()})

    def on_deliveries(self, request: Request, store: WooStore) -> Response:
        return json_response([{"kind": d.kind, "topic": d.topic, "url": d.url, "status": d.status,
                               "dropped": d.dropped, "delivery_id": d.delivery_id, "resource_id": d.resource_id,
                               "headers": d.headers, "body": d.body.decode()}
                              for d in self.sandbox.deliveries(store.name, kind=None)])

    # --- WordPress --------------------------------------------------------------------------

    def on_wp_index(self, request: Request, store: WooStore) -> Response:
        """``GET /wp-json/``: the site's description (how an app recognises WordPress + WooCommerce)."""
        offset = store.tz.utcoffset(store.now().replace(tzinfo=None))
        return json_response({
            "name": store.site_name, "description": "Just another WordPress site", "url": store.url,
            "home": store.url, "gmt_offset": (offset.total_seconds() / 3600) if offset else 0,
            "timezone_string": store.timezone_name,
            "namespaces": ["oembed/1.0", "wc/store/v1", "wc/v1", "wc/v2", "wc/v3", "wc-auth/v1",
                           "wp/v2", "wp-site-health/v1", *(["comeback/v1"] if store.plugin else [])],
            "authentication": [], "routes": {},
            "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
        }, headers={"Link": f'<{store.url}/wp-json/>; rel="https://api.w.org/"'})

    def on_rest(self, request: Request, store: WooStore, path: str) -> Response:
        method = request.method
        if method == "OPTIONS":
            return json_response({"namespace": "wc/v3", "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]})
        head = method == "HEAD"
        fault = self.sandbox.take_fault(store.name)
        if fault is not None:
            return fault
        try:
            key = authenticate(store, request, "/wp-json/wc/v3/" + path if path else "/wp-json/wc/v3",
                               https=self.sandbox.is_https(request))
            if key is None:
                if path:
                    self.rest.route(path)  # unknown routes answer 404 before the permission check
                    verb = "list resources" if method in ("GET", "HEAD") else (
                        "create resources" if method == "POST" else "edit this resource")
                    if method == "DELETE":
                        verb = "delete this resource"
                    raise WPError(f"woocommerce_rest_cannot_{'view' if method in ('GET', 'HEAD') else 'create'}",
                                  f"Sorry, you cannot {verb}.", 401)
            else:
                check_permissions(key, "GET" if head else method)
            response = self.rest.handle(store, request, path, "GET" if head else method)
        except WPError as error:
            response = error_response(error)
        if head:
            response.set_data(b"")
        response.headers["X-Robots-Tag"] = "noindex"
        response.headers["Access-Control-Expose-Headers"] = "X-WP-Total, X-WP-TotalPages, Link"
        response.headers["Allow"] = "GET, POST, PUT, PATCH, DELETE"
        return response

    # --- wc-auth ----------------------------------------------------------------------------

    def on_wc_auth(self, request: Request, store: WooStore, route: str) -> Response:
        """``/wc-auth/v1/{login,authorize,access_granted}`` (``WC_Auth::handle_auth_requests``).
        The sandbox's admin is always logged in; ``store.wc_auth_mode`` decides what they do."""
        if route not in ("login", "authorize", "access_granted"):
            return wp_die("Invalid endpoint.", "WooCommerce Authentication Error", 400)
        params = request.values
        data: dict[str, str] = {}
        for name in WC_AUTH_PARAMS:
            value = params.get(name, "")
            if not value:
                return wp_die(f"Error: Missing parameter {name}.", "Access denied", 401)
            data[name] = value
        if data["scope"] not in ("read", "write", "read_write"):
            return wp_die(f"Error: Invalid scope {data['scope']}.", "Access denied", 401)
        for name in ("return_url", "callback_url"):
            url = _formatted_url(data[name])
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return wp_die(f"Error: The {url} is not a valid URL.", "Access denied", 401)
        callback = _formatted_url(data["callback_url"])
        if self.sandbox.require_https_callback and not callback.lower().startswith("https://"):
            return wp_die("Error: The callback_url needs to be over SSL.", "Access denied", 401)
        return_url = _formatted_url(data["return_url"])
        mode = "deny" if params.get("sandbox_deny") else store.wc_auth_mode
        if mode == "deny":
            return _redirect(add_query_arg(return_url, success=0, user_id=data["user_id"]))
        if route in ("login", "authorize") and mode == "manual":
            return self._authorize_page(store, data, return_url)
        if route == "access_granted" or mode == "auto":
            return self._grant(store, data, callback, return_url)
        return wp_die("Invalid endpoint.", "WooCommerce Authentication Error", 400)

    def _authorize_page(self, store: WooStore, data: dict[str, str], return_url: str) -> Response:
        scope = {"read": "View", "write": "Create", "read_write": "View and manage"}[data["scope"]]
        grant = f"{store.url}/wc-auth/v1/access_granted?{urlencode(data)}&wc_auth_nonce=sandbox"
        deny = add_query_arg(return_url, success=0, user_id=data["user_id"])
        body = (f"<h1>{html.escape(data['app_name'])} would like to connect to your store</h1>"
                f"<p>This will give \"{html.escape(data['app_name'])}\" <strong>{scope}</strong> access which "
                "will allow it to: coupons, customers, orders, products, reports, webhooks.</p>"
                f"<p>Logged in as admin ({html.escape(store.admin_email)})</p>"
                f"<p><a class='button button-primary wc-auth-approve' href='{html.escape(grant)}'>Approve</a>"
                f"<a class='button wc-auth-deny' href='{html.escape(deny)}'>Deny</a></p>")
        return html_page(f"{store.site_name} › Connect", body)

    def _grant(self, store: WooStore, data: dict[str, str], callback: str, return_url: str) -> Response:
        key = self.sandbox.create_api_key(
            store.name, permissions=data["scope"],
            description=f"{data['app_name'][:170]} - API ({time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())})")
        consumer_data = {"key_id": key.key_id, "user_id": data["user_id"], "consumer_key": key.consumer_key,
                         "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}
        self.sandbox.wc_auth_callbacks.append({"store": store.name, "url": callback, "body": consumer_data})
        try:
            answer = requests.post(callback, data=json.dumps(consumer_data, separators=(",", ":")),
                                   headers={"Content-Type": "application/json;charset=UTF-8",
                                            "User-Agent": f"WordPress/{WP_VERSION}; {store.url}"},
                                   timeout=self.sandbox.callback_timeout, allow_redirects=False)
            ok = answer.status_code == 200
            message = ("An error occurred in the request and at the time were unable to send the consumer data"
                       if not ok else "")
        except requests.RequestException as error:
            ok, message = False, str(error)
        if not ok:
            with store.lock:
                store.api_keys.pop(key.key_id, None)
            return wp_die(f"Error: {message}.", "Access denied", 401)
        return _redirect(add_query_arg(return_url, success=1, user_id=data["user_id"]))

    # --- storefront and the Comeback plugin -------------------------------------------------

    def on_storefront(self, request: Request, store: WooStore) -> Response:
        return storefront.home(self.sandbox, store, request)

    def on_product_page(self, request: Request, store: WooStore, slug: str) -> Response:
        return storefront.home(self.sandbox, store, request)

    def on_my_account(self, request: Request, store: WooStore) -> Response:
        return storefront.my_account(self.sandbox, store, request)

    def on_logout(self, request: Request, store: WooStore) -> Response:
        return storefront.logout(store)

    def on_cart(self, request: Request, store: WooStore) -> Response:
        return storefront.cart(self.sandbox, store, request)

    def on_checkout(self, request: Request, store: WooStore) -> Response:
        return storefront.checkout(self.sandbox, store, request)

    def on_wp_admin(self, request: Request, store: WooStore) -> Response:
        return admin.dashboard(self.sandbox, store, request)

    def on_admin_post(self, request: Request, store: WooStore) -> Response:
        return admin.admin_post(self.sandbox, store, request)

    def on_plugin_proxy(self, request: Request, store: WooStore, path: str) -> Response:
        return storefront.plugin_proxy(self.sandbox, store, request, path)


def _formatted_url(url: str) -> str:
    """``WC_Auth::get_formatted_url``: URL-decoded, ``https://`` added when there is no scheme."""
    from urllib.parse import unquote
    url = unquote(url)
    return url if "://" in url else f"https://{url}"


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url, "X-Redirect-By": "WordPress"})


__all__ = ["SandboxApp", "WC_VERSION", "add_query_arg", "html_page"]
