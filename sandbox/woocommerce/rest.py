"""``/wp-json/wc/v3/*``: the WooCommerce REST API v3 routes the app uses, with WordPress's argument
validation, pagination headers (``X-WP-Total``, ``X-WP-TotalPages``, ``Link``) and error shape."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .common import WC_VERSION, WP_VERSION, WPError, parse_wc_date, rest_bool, wc_money
from .store import (
    ORDER_STATUSES,
    WEBHOOK_EVENTS,
    WEBHOOK_RESOURCES,
    WooCoupon,
    WooCustomer,
    WooOrder,
    WooProduct,
    WooStore,
    WooWebhook,
    rand_hash,
)
from .webhooks import wp_json

if TYPE_CHECKING:
    from .sandbox import WooCommerceSandbox

#: The store's base location (``woocommerce_default_country``), matching its currency's time zone.
COUNTRY = {"USD": "US:NY", "CAD": "CA:ON", "AUD": "AU:NSW", "NZD": "NZ", "EUR": "DE:BE", "GBP": "GB",
           "CHF": "CH:ZH", "SEK": "SE", "ILS": "IL"}
NO_ROUTE = WPError("rest_no_route", "No route was found matching the URL and request method.", 404)
ROUTES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(f"^{pattern}$")) for name, pattern in (
        ("index", r""),
        ("system_status", r"system_status"),
        ("settings_general", r"settings/general"),
        ("customers", r"customers"),
        ("customer", r"customers/(?P<id>\d+)"),
        ("products", r"products"),
        ("product", r"products/(?P<id>\d+)"),
        ("variations", r"products/(?P<product_id>\d+)/variations"),
        ("variation", r"products/(?P<product_id>\d+)/variations/(?P<id>\d+)"),
        ("orders", r"orders"),
        ("order", r"orders/(?P<id>\d+)"),
        ("refunds", r"orders/(?P<order_id>\d+)/refunds"),
        ("refund", r"orders/(?P<order_id>\d+)/refunds/(?P<id>\d+)"),
        ("coupons", r"coupons"),
        ("coupon", r"coupons/(?P<id>\d+)"),
        ("webhooks", r"webhooks"),
        ("webhook", r"webhooks/(?P<id>\d+)"),
    )
]
ORDERBY: dict[str, tuple[str, ...]] = {
    "orders": ("date", "modified", "id", "include", "title", "slug"),
    "products": ("date", "modified", "id", "include", "title", "slug", "price", "popularity", "rating",
                 "menu_order"),
    "coupons": ("date", "modified", "id", "include", "title", "slug"),
    "customers": ("id", "include", "name", "registered_date"),
    "webhooks": ("date", "id", "title"),
    "refunds": ("date", "modified", "id", "include", "title", "slug"),
    "variations": ("date", "modified", "id", "include", "title", "slug", "menu_order"),
}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(wp_json(data), status=status, headers=headers, content_type="application/json; charset=UTF-8")


def error_response(error: WPError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.body(), error.status, headers)


def invalid_param(name: str, reason: str) -> WPError:
    return WPError("rest_invalid_param", f"Invalid parameter(s): {name}", 400, params={name: reason},
                   details={name: {"code": "rest_invalid_param", "message": reason, "data": None}})


class Args:
    """Query and body arguments (WordPress merges them; the JSON body wins)."""

    def __init__(self, request: Request) -> None:
        self.query = request.args
        self.body: dict[str, Any] = {}
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            raw = request.get_data()
            if raw and (request.mimetype or "").endswith("json"):
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    raise WPError("rest_invalid_json", "Invalid JSON body passed.", 400,
                                  json_error_code=4, json_error_message="Syntax error") from None
                if not isinstance(parsed, dict):
                    raise WPError("rest_invalid_json", "Invalid JSON body passed.", 400)
                self.body = parsed
            elif request.mimetype == "application/x-www-form-urlencoded":
                self.body = {k: v for k, v in request.form.items() if not k.startswith("oauth_")}

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.body:
            return self.body[name]
        if name in self.query:  # PHP's $_GET: a repeated key keeps its last value
            return self.query.getlist(name)[-1]
        list_name = f"{name}[]"
        if list_name in self.query:
            return self.query.getlist(list_name)
        return default

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        value = self.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(str(value))
        except ValueError:
            raise invalid_param(name, f"{name} is not of type integer.") from None
        if minimum is not None and maximum is not None and not minimum <= number <= maximum:
            raise invalid_param(name, f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)")
        if minimum is not None and number < minimum:
            raise invalid_param(name, f"{name} must be greater than or equal to {minimum}")
        return number

    def ids(self, name: str) -> list[int] | None:
        value = self.get(name)
        if value in (None, "", []):
            return None
        items = value if isinstance(value, list) else re.split(r"[\s,]+", str(value))
        try:
            return [int(str(v)) for v in items if str(v).strip()]
        except ValueError:
            raise invalid_param(name, f"{name}[0] is not of type integer.") from None

    def enum(self, name: str, allowed: Sequence[str], default: str) -> str:
        value = self.get(name)
        if value in (None, ""):
            return default
        if str(value) not in allowed:
            raise invalid_param(name, f"{name} is not one of {', '.join(allowed)}.")
        return str(value)

    def date(self, name: str, store: WooStore, gmt: bool) -> datetime | None:
        value = self.get(name)
        if value in (None, ""):
            return None
        try:
            return parse_wc_date(str(value), store.tz, gmt=gmt)
        except ValueError:
            raise invalid_param(name, "Invalid date.") from None


class RestApi:
    def __init__(self, sandbox: WooCommerceSandbox) -> None:
        self.sandbox = sandbox

    # --- dispatch ---------------------------------------------------------------------------

    def route(self, path: str) -> tuple[str, dict[str, int]]:
        for name, pattern in ROUTES:
            match = pattern.match(path.strip("/"))
            if match:
                return name, {k: int(v) for k, v in match.groupdict().items()}
        raise NO_ROUTE

    def handle(self, store: WooStore, request: Request, path: str, method: str) -> Response:
        name, ids = self.route(path)
        handler: Callable[..., Response] | None = getattr(self, f"{method.lower()}_{name}", None)
        if handler is None and method == "PATCH":
            handler = getattr(self, f"put_{name}", None)
        if handler is None:
            raise NO_ROUTE
        response: Response = handler(store, request, Args(request), **ids)
        fields = request.args.get("_fields")
        if fields and response.status_code < 400:
            response.set_data(wp_json(_only_fields(json.loads(response.get_data()), fields)))
        return response

    # --- listing ----------------------------------------------------------------------------

    def _page(self, store: WooStore, request: Request, args: Args, route: str, items: list[Any],
              render: Callable[[Any], dict[str, Any]]) -> Response:
        per_page = args.integer("per_page", 10, minimum=1, maximum=100) or 10
        page = args.integer("page", 1, minimum=1) or 1
        offset = args.integer("offset", None, minimum=0)
        start = offset if offset is not None else (page - 1) * per_page
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        if offset is not None:
            page = start // per_page + 1
        with store.lock:
            body = [render(item) for item in items[start:start + per_page]]
        base = store.rest_url(route)
        query = [(k, v) for k, v in {k: request.args.getlist(k)[-1] for k in request.args}.items() if k != "page"]
        links = []
        if page > 1:
            prev = min(page - 1, pages) if pages else 1
            links.append(f'<{base}?{urlencode([*query, ("page", prev)])}>; rel="prev"')
        if pages > page:
            links.append(f'<{base}?{urlencode([*query, ("page", page + 1)])}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return json_response(body, headers=headers)

    @staticmethod
    def _sort(items: list[Any], args: Args, kind: str, default: str, key_of: dict[str, Callable[[Any], Any]],
              default_order: str = "desc", include: list[int] | None = None) -> list[Any]:
        orderby = args.enum("orderby", ORDERBY[kind], default)
        order = args.enum("order", ("asc", "desc"), default_order)
        if orderby == "include" and include:
            position = {v: i for i, v in enumerate(include)}
            return sorted(items, key=lambda x: position.get(x.id, 0))
        key = key_of.get(orderby, key_of["id"])
        return sorted(items, key=lambda x: (key(x), x.id), reverse=order == "desc")

    @staticmethod
    def _date_filter(items: list[Any], args: Args, store: WooStore, created: str, modified: str) -> list[Any]:
        gmt = rest_bool(args.get("dates_are_gmt", False))
        bounds = [(args.date("after", store, gmt), created, "gt"), (args.date("before", store, gmt), created, "lt"),
                  (args.date("modified_after", store, gmt), modified, "gt"),
                  (args.date("modified_before", store, gmt), modified, "lt")]
        for bound, attr, op in bounds:
            if bound is None:
                continue
            if op == "gt":
                items = [x for x in items if getattr(x, attr) > bound]
            else:
                items = [x for x in items if getattr(x, attr) < bound]
        return items

    @staticmethod
    def _include_exclude(items: list[Any], args: Args) -> tuple[list[Any], list[int] | None]:
        include = args.ids("include")
        exclude = args.ids("exclude")
        if include is not None:
            wanted = set(include)
            items = [x for x in items if x.id in wanted]
        if exclude:
            unwanted = set(exclude)
            items = [x for x in items if x.id not in unwanted]
        return items, include

    # --- index, settings --------------------------------------------------------------------

    def get_index(self, store: WooStore, request: Request, args: Args) -> Response:
        return json_response({"namespace": "wc/v3", "routes": {f"/wc/v3/{p.pattern.strip('^$')}": {}
                                                                for _, p in ROUTES}})

    def get_system_status(self, store: WooStore, request: Request, args: Args) -> Response:
        return json_response({
            "environment": {"home_url": store.url, "site_url": store.url, "version": WC_VERSION,
                            "wp_version": WP_VERSION, "language": store.locale, "wp_multisite": False,
                            "wp_cron": True, "default_timezone": "UTC"},
            "settings": {"api_enabled": True, "currency": store.currency,
                         "currency_symbol": "", "currency_position": "left", "thousand_separator": ",",
                         "decimal_separator": ".", "number_of_decimals": 2},
        })

    def get_settings_general(self, store: WooStore, request: Request, args: Args) -> Response:
        country = COUNTRY.get(store.currency, "US:NY")
        values = [("woocommerce_store_address", "Address line 1", "1 Main Street"),
                  ("woocommerce_store_city", "City", ""),
                  ("woocommerce_default_country", "Country / State", country),
                  ("woocommerce_store_postcode", "Postcode / ZIP", ""),
                  ("woocommerce_calc_taxes", "Enable taxes", "yes"),
                  ("woocommerce_currency", "Currency", store.currency),
                  ("woocommerce_currency_pos", "Currency position", "left"),
                  ("woocommerce_price_thousand_sep", "Thousand separator", ","),
                  ("woocommerce_price_decimal_sep", "Decimal separator", "."),
                  ("woocommerce_price_num_decimals", "Number of decimals", "2")]
        return json_response([{"id": sid, "label": label, "description": "", "type": "text", "default": "",
                               "tip": "", "value": value, "group_id": "general",
                               "_links": {"self": [{"href": store.rest_url(f"settings/general/{sid}")}]}}
                              for sid, label, value in values])

    # --- customers --------------------------------------------------------------------------

    def get_customers(self, store: WooStore, request: Request, args: Args) -> Response:
        role = args.get("role", "customer") or "customer"
        with store.lock:
            items: list[WooCustomer] = [c for c in store.customers.values() if role == "all" or c.role == role]
        email = args.get("email")
        if email:
            items = [c for c in items if c.email.lower() == str(email).strip().lower()]
        search = str(args.get("search") or "").strip().lower()
        if search:
            items = [c for c in items if search in c.email.lower() or search in c.username.lower()
                     or search in f"{c.first_name} {c.last_name}".lower()]
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "customers", "name", {
            "id": lambda c: c.id, "name": lambda c: c.username.lower(),
            "registered_date": lambda c: c.date_created}, default_order="asc", include=include)
        return self._page(store, request, args, "customers", items, store.customer_json)

    def get_customer(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        customer = store.customers.get(id)
        if customer is None:
            raise WPError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        with store.lock:
            return json_response(store.customer_json(customer))

    def post_customers(self, store: WooStore, request: Request, args: Args) -> Response:
        if args.get("id"):
            raise WPError("woocommerce_rest_customer_exists", "Cannot create existing resource.", 400)
        customer = store.create_customer(
            email=str(args.get("email") or ""), first_name=str(args.get("first_name") or ""),
            last_name=str(args.get("last_name") or ""), username=args.get("username"),
            billing=_dict(args.get("billing")), shipping=_dict(args.get("shipping")),
            meta_data=_list(args.get("meta_data")))
        with store.lock:
            body = store.customer_json(customer)
        return json_response(body, 201, {"Location": store.rest_url(f"customers/{customer.id}")})

    def put_customer(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        if id not in store.customers:
            raise WPError("woocommerce_rest_invalid_id", "Invalid resource ID.", 400)
        email = args.get("email")
        if email is not None and (not str(email).strip() or "@" not in str(email)):
            raise WPError("woocommerce_rest_invalid_email", "Invalid email address.", 400)
        customer = store.update_customer(id, email=email, first_name=args.get("first_name"),
                                         last_name=args.get("last_name"), billing=_dict(args.get("billing")),
                                         shipping=_dict(args.get("shipping")),
                                         meta_data=_list(args.get("meta_data")))
        with store.lock:
            return json_response(store.customer_json(customer))

    def delete_customer(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        if not rest_bool(args.get("force", False)):
            raise WPError("woocommerce_rest_trash_not_supported",
                          "Customers do not support trashing.", 501)
        if id not in store.customers:
            raise WPError("woocommerce_rest_invalid_id", "Invalid resource id.", 400)
        with store.lock:
            body = store.customer_json(store.customers[id])
        store.delete_customer(id)
        return json_response(body)

    # --- products ---------------------------------------------------------------------------

    def get_products(self, store: WooStore, request: Request, args: Args) -> Response:
        status = args.enum("status", ("any", "future", "trash", "draft", "pending", "private", "publish"), "any")
        with store.lock:
            items: list[WooProduct] = [p for p in store.products.values()
                                       if (status == "any" and p.status != "trash") or p.status == status]
        if args.get("type"):
            items = [p for p in items if p.type == args.get("type")]
        if args.get("sku"):
            skus = set(str(args.get("sku")).split(","))
            items = [p for p in items if p.sku in skus or any(v.sku in skus for v in p.variations)]
        search = str(args.get("search") or "").strip().lower()
        if search:
            items = [p for p in items if search in p.name.lower()]
        items = self._date_filter(items, args, store, "date_created", "date_modified")
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "products", "date", {
            "id": lambda p: p.id, "date": lambda p: p.date_created, "modified": lambda p: p.date_modified,
            "title": lambda p: p.name.lower(), "slug": lambda p: p.slug, "price": lambda p: p.price,
            "popularity": lambda p: p.total_sales}, include=include)
        return self._page(store, request, args, "products", items, store.product_json)

    def get_product(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        with store.lock:
            if id in store.products:
                return json_response(store.product_json(store.products[id]))
            if id in store.variations:
                return json_response(store.variation_json(store.variations[id]))
        raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)

    def put_product(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        if id not in store.products and id not in store.variations:
            raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
        product = store.update_product(id, **_product_changes(args))
        with store.lock:
            return json_response(store.product_json(product))

    def delete_product(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        force = rest_bool(args.get("force", False))
        with store.lock:
            if id not in store.products:
                raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            body = store.product_json(store.products[id])
        product = store.trash_product(id, force=force)
        if not force:
            with store.lock:
                body = store.product_json(product)
        return json_response(body)

    def get_variations(self, store: WooStore, request: Request, args: Args, product_id: int) -> Response:
        product = store.products.get(product_id)
        if product is None:
            raise WPError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        items = self._date_filter(list(product.variations), args, store, "date_created", "date_modified")
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "variations", "date", {
            "id": lambda v: v.id, "date": lambda v: v.date_created, "modified": lambda v: v.date_modified,
            "menu_order": lambda v: v.menu_order}, include=include)
        return self._page(store, request, args, f"products/{product_id}/variations", items, store.variation_json)

    def get_variation(self, store: WooStore, request: Request, args: Args, product_id: int,
                      id: int) -> Response:  # noqa: A002
        variation = store.variations.get(id)
        if variation is None or variation.parent_id != product_id:
            raise WPError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
        with store.lock:
            return json_response(store.variation_json(variation))

    def put_variation(self, store: WooStore, request: Request, args: Args, product_id: int,
                      id: int) -> Response:  # noqa: A002
        variation = store.variations.get(id)
        if variation is None or variation.parent_id != product_id:
            raise WPError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400)
        store.update_product(id, **_product_changes(args))
        with store.lock:
            return json_response(store.variation_json(variation))

    # --- orders -----------------------------------------------------------------------------

    def get_orders(self, store: WooStore, request: Request, args: Args) -> Response:
        raw_status = args.get("status", "any") or "any"
        statuses = raw_status if isinstance(raw_status, list) else str(raw_status).split(",")
        statuses = [s.strip().removeprefix("wc-") for s in statuses if s.strip()]
        for s in statuses:
            if s not in (*ORDER_STATUSES, "any", "trash", "auto-draft"):
                raise invalid_param("status", f"status[0] is not one of any, trash, {', '.join(ORDER_STATUSES)}.")
        with store.lock:
            items: list[WooOrder] = list(store.orders.values())
        if "any" in statuses:
            items = [o for o in items if o.status not in ("trash", "checkout-draft")]
        else:
            wanted = set(statuses)
            items = [o for o in items if o.status in wanted]
        customer = args.integer("customer", None, minimum=0)
        if customer is not None:
            items = [o for o in items if o.customer_id == customer]
        product = args.integer("product", None, minimum=0)
        if product:
            items = [o for o in items if any(li.product_id == product for li in o.lines)]
        search = str(args.get("search") or "").strip().lower()
        if search:
            items = [o for o in items if search in o.billing.get("email", "").lower() or search == str(o.id)
                     or search in f"{o.billing.get('first_name', '')} {o.billing.get('last_name', '')}".lower()]
        items = self._date_filter(items, args, store, "date_created", "date_modified")
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "orders", "date", {
            "id": lambda o: o.id, "date": lambda o: o.date_created, "modified": lambda o: o.date_modified,
            "title": lambda o: o.id, "slug": lambda o: o.id}, include=include)
        return self._page(store, request, args, "orders", items, store.order_json)

    def get_order(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        with store.lock:
            return json_response(store.order_json(store.order(id)))

    def post_orders(self, store: WooStore, request: Request, args: Args) -> Response:
        if args.get("id"):
            raise WPError("woocommerce_rest_shop_order_exists", "Cannot create existing shop_order.", 400)
        items = []
        for index, line in enumerate(_list(args.get("line_items")) or []):
            ref = _int(line.get("variation_id"), f"line_items[{index}][variation_id]") or _int(
                line.get("product_id"), f"line_items[{index}][product_id]")
            if not ref and line.get("sku"):
                ref = next((p.id for p in store.products.values() if p.sku == line["sku"]), None) or next(
                    (v.id for v in store.variations.values() if v.sku == line["sku"]), None)
            if not ref:
                raise WPError("woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400)
            items.append((ref, _int(line.get("quantity"), f"line_items[{index}][quantity]") or 1))
        status = args.get("status")
        set_paid = rest_bool(args.get("set_paid", False))
        customer_id = args.integer("customer_id", 0, minimum=0) or 0
        if customer_id and customer_id not in store.customers:
            raise WPError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)
        billing = _dict(args.get("billing")) or {}
        order = store.place_order(
            customer_id=customer_id or None, items=items or [], paid=set_paid,
            status=str(status) if status else None,
            coupons=[str(c.get("code", "")) for c in _list(args.get("coupon_lines")) or []],
            email=billing.get("email"), billing=billing, shipping=_dict(args.get("shipping")),
            payment_method=args.get("payment_method") or None, created_via="rest-api",
            meta_data=_list(args.get("meta_data")))
        with store.lock:
            body = store.order_json(order)
        return json_response(body, 201, {"Location": store.rest_url(f"orders/{order.id}")})

    def put_order(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        store.order(id)
        order = store.update_order(id, status=args.get("status"), billing=_dict(args.get("billing")),
                                   shipping=_dict(args.get("shipping")), customer_note=args.get("customer_note"),
                                   meta_data=_list(args.get("meta_data")),
                                   customer_id=_int(args.get("customer_id"), "customer_id"),
                                   set_paid=rest_bool(args.get("set_paid", False)))
        with store.lock:
            return json_response(store.order_json(order))

    def delete_order(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        force = rest_bool(args.get("force", False))
        with store.lock:
            body = store.order_json(store.order(id))
        order = store.trash_order(id, force=force)
        if not force:
            with store.lock:
                body = store.order_json(order)
        return json_response(body)

    # --- refunds ----------------------------------------------------------------------------

    def get_refunds(self, store: WooStore, request: Request, args: Args, order_id: int) -> Response:
        order = store.order(order_id)
        items = self._date_filter(list(order.refunds), args, store, "date_created", "date_created")
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "refunds", "date", {"id": lambda r: r.id, "date": lambda r: r.date_created},
                           include=include)
        return self._page(store, request, args, f"orders/{order_id}/refunds", items, store.refund_json)

    def get_refund(self, store: WooStore, request: Request, args: Args, order_id: int,
                   id: int) -> Response:  # noqa: A002
        refund = store.refunds.get(id)
        if refund is None or refund.order_id != order_id:
            raise WPError("woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.", 404)
        with store.lock:
            return json_response(store.refund_json(refund))

    def post_refunds(self, store: WooStore, request: Request, args: Args, order_id: int) -> Response:
        order = store.order(order_id)
        amount = args.get("amount")
        lines = []
        for index, line in enumerate(_list(args.get("line_items")) or []):
            quantity = _int(line.get("quantity"), f"line_items[{index}][quantity]") or 0
            if quantity > 0:
                item_id = _int(line.get("id"), f"line_items[{index}][id]")
                if not item_id:
                    raise WPError("woocommerce_rest_invalid_order_item", "Invalid order item.", 400)
                lines.append((item_id, quantity))
        if amount in (None, ""):
            if not lines:
                raise WPError("woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.",
                              400)
        else:
            try:
                Decimal(str(amount))
            except InvalidOperation:
                raise invalid_param("amount", "amount is not of type string.") from None
        refund = store.refund_order(order.id, lines=lines or None, amount=amount if amount not in (None, "") else None,
                                    reason=str(args.get("reason") or ""),
                                    restock=rest_bool(args.get("restock_items", True)),
                                    api_refund=rest_bool(args.get("api_refund", True)))
        with store.lock:
            body = store.refund_json(refund)
        return json_response(body, 201, {"Location": store.rest_url(f"orders/{order_id}/refunds/{refund.id}")})

    # --- coupons ----------------------------------------------------------------------------

    def get_coupons(self, store: WooStore, request: Request, args: Args) -> Response:
        with store.lock:
            items: list[WooCoupon] = [c for c in store.coupons.values() if c.status != "trash"]
        code = args.get("code")
        if code:
            wanted = str(code).strip().lower()
            items = [c for c in items if c.code == wanted]
        search = str(args.get("search") or "").strip().lower()
        if search:
            items = [c for c in items if search in c.code]
        items = self._date_filter(items, args, store, "date_created", "date_modified")
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "coupons", "date", {
            "id": lambda c: c.id, "date": lambda c: c.date_created, "modified": lambda c: c.date_modified,
            "title": lambda c: c.code, "slug": lambda c: c.code}, include=include)
        return self._page(store, request, args, "coupons", items, store.coupon_json)

    def get_coupon(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        coupon = store.coupons.get(id)
        if coupon is None:
            raise WPError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
        with store.lock:
            return json_response(store.coupon_json(coupon))

    def post_coupons(self, store: WooStore, request: Request, args: Args) -> Response:
        if args.get("id"):
            raise WPError("woocommerce_rest_shop_coupon_exists", "Cannot create existing shop_coupon.", 400)
        code = args.get("code")
        if code in (None, ""):
            raise WPError("rest_missing_callback_param", "Missing parameter(s): code", 400, params=["code"])
        coupon = store.create_coupon(code=str(code), amount=_amount(args, "amount") or "0",
                                     discount_type=str(args.get("discount_type") or "fixed_cart"),
                                     **_coupon_fields(args))
        with store.lock:
            body = store.coupon_json(coupon)
        return json_response(body, 201, {"Location": store.rest_url(f"coupons/{coupon.id}")})

    def put_coupon(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        coupon = store.update_coupon(id, code=args.get("code"), amount=_amount(args, "amount"),
                                     discount_type=args.get("discount_type"), **_coupon_fields(args))
        with store.lock:
            return json_response(store.coupon_json(coupon))

    def delete_coupon(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        force = rest_bool(args.get("force", False))
        coupon = store.delete_coupon(id, force=force)
        with store.lock:
            return json_response(store.coupon_json(coupon))

    # --- webhooks ---------------------------------------------------------------------------

    def get_webhooks(self, store: WooStore, request: Request, args: Args) -> Response:
        status = args.enum("status", ("all", "active", "paused", "disabled"), "all")
        with store.lock:
            items: list[WooWebhook] = [w for w in store.webhooks.values() if status in ("all", w.status)]
        items, include = self._include_exclude(items, args)
        items = self._sort(items, args, "webhooks", "date", {
            "id": lambda w: w.id, "date": lambda w: w.date_created, "title": lambda w: w.name}, include=include)
        return self._page(store, request, args, "webhooks", items, store.webhook_json)

    def get_webhook(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        webhook = store.webhooks.get(id)
        if webhook is None:
            raise WPError("woocommerce_rest_webhook_invalid_id", "ID is invalid.", 400)
        with store.lock:
            return json_response(store.webhook_json(webhook))

    def post_webhooks(self, store: WooStore, request: Request, args: Args) -> Response:
        if args.get("id"):
            raise WPError("woocommerce_rest_webhook_exists", "Cannot create existing webhook.", 400)
        topic = str(args.get("topic") or "").strip().lower()
        if not _valid_topic(topic):
            raise WPError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.",
                          400)
        url = str(args.get("delivery_url") or "").strip()
        if not _valid_url(url):
            raise WPError("woocommerce_rest_webhook_invalid_delivery_url",
                          "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400)
        status = str(args.get("status") or "active")
        if status not in ("active", "paused", "disabled"):
            raise invalid_param("status", "status is not one of active, paused, and disabled.")
        webhook = self.sandbox.create_webhook(store, topic=topic, delivery_url=url,
                                              secret=str(args.get("secret") or "") or None,
                                              name=str(args.get("name") or "") or None, status=status)
        with store.lock:
            body = store.webhook_json(webhook)
        return json_response(body, 201, {"Location": store.rest_url(f"webhooks/{webhook.id}")})

    def put_webhook(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        webhook = store.webhooks.get(id)
        if webhook is None:
            raise WPError("woocommerce_rest_webhook_invalid_id", "ID is invalid.", 400)
        topic = args.get("topic")
        if topic:
            if not _valid_topic(str(topic).lower()):
                raise WPError("woocommerce_rest_webhook_invalid_topic", "Webhook topic must be valid.", 400)
        url = args.get("delivery_url")
        if url and not _valid_url(str(url)):
            raise WPError("woocommerce_rest_webhook_invalid_delivery_url",
                          "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400)
        status = args.get("status")
        if status and str(status).lower() not in ("active", "paused", "disabled"):
            raise WPError("woocommerce_rest_webhook_invalid_status", "Webhook status must be valid.", 400)
        self.sandbox.update_webhook(store, id, topic=str(topic).lower() if topic else None,
                                    delivery_url=str(url) if url else None,
                                    secret=str(args.get("secret")) if args.get("secret") else None,
                                    status=str(status).lower() if status else None,
                                    name=str(args.get("name")) if args.get("name") else None)
        with store.lock:
            return json_response(store.webhook_json(webhook))

    def delete_webhook(self, store: WooStore, request: Request, args: Args, id: int) -> Response:  # noqa: A002
        if not rest_bool(args.get("force", False)):
            raise WPError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        webhook = store.webhooks.get(id)
        if webhook is None:
            raise WPError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        with store.lock:
            body = store.webhook_json(webhook)
            del store.webhooks[id]
        return json_response(body)


def _only_fields(data: Any, fields: str) -> Any:
    """WordPress's ``_fields=id,billing.email``: keep only those (nested with dots)."""
    wanted = [f.strip() for f in fields.split(",") if f.strip()]

    def pick(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        out: dict[str, Any] = {}
        for path in wanted:
            head, _, rest = path.partition(".")
            if head not in item:
                continue
            if not rest:
                out[head] = item[head]
            elif isinstance(item[head], dict):
                inner = _only_fields(item[head], rest)
                out[head] = {**out.get(head, {}), **inner} if isinstance(out.get(head), dict) else inner
        return out

    return [pick(x) for x in data] if isinstance(data, list) else pick(data)


def _valid_topic(topic: str) -> bool:
    if topic.startswith("action."):
        return len(topic) > len("action.")
    resource, _, event = topic.partition(".")
    return resource in WEBHOOK_RESOURCES and event in WEBHOOK_EVENTS and topic != "customer.restored"


def _valid_url(url: str) -> bool:
    return bool(re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.IGNORECASE))


def _dict(value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, dict):
        raise WPError("rest_invalid_param", "Invalid parameter(s): object expected", 400)
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _list(value: Any) -> list[dict[str, Any]] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise WPError("rest_invalid_param", "Invalid parameter(s): array of objects expected", 400)
    return value


def _int(value: Any, name: str) -> int | None:
    """An integer argument inside an object (``line_items[0][quantity]``), as the schema checks it."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise invalid_param(name, f"{name} is not of type integer.")
    try:
        return int(str(value))
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.") from None


def _amount(args: Args, name: str) -> str | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        return wc_money(Decimal(str(value)))
    except InvalidOperation:
        raise invalid_param(name, f"{name} is not of type string.") from None


def _coupon_fields(args: Args) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("description", "usage_limit", "usage_limit_per_user", "individual_use", "free_shipping",
                 "product_ids", "email_restrictions", "minimum_amount", "maximum_amount", "meta_data"):
        value = args.get(name)
        if value is not None:
            if name in ("individual_use", "free_shipping"):
                value = rest_bool(value)
            fields[name] = value
    for name in ("date_expires", "date_expires_gmt"):
        if args.get(name) is not None or name in args.body:
            fields[name] = args.get(name)
    return fields


def _product_changes(args: Args) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("name", "regular_price", "sale_price", "status", "stock_quantity"):
        if args.get(name) is not None:
            changes[name] = args.get(name)
    for meta in _list(args.get("meta_data")) or []:
        if meta.get("key") == "_wc_cog_cost" and meta.get("value") not in (None, ""):
            changes["cost"] = meta["value"]
    return changes


def rand_secret() -> str:
    return rand_hash()
