"""The REST API v3 through WooCommerce's official Python client (OAuth 1.0a over http)."""

from __future__ import annotations

from decimal import Decimal

import requests
from woocommerce import API

from sandbox.woocommerce import ApiKey, WooCommerceSandbox, WooStore


def test_the_official_client_pages_through_every_order(store: WooStore, wc: API) -> None:
    seen: list[int] = []
    page = 1
    while True:
        response = wc.get("orders", params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"})
        assert response.status_code == 200, response.text
        assert response.headers["X-WP-Total"] == str(len(store.orders))
        assert response.headers["X-WP-TotalPages"] == "3"
        seen += [o["id"] for o in response.json()]
        if 'rel="next"' not in response.headers.get("Link", ""):
            break
        assert f"page={page + 1}" in response.headers["Link"]
        page += 1
    assert page == 3
    assert seen == sorted(store.orders)
    assert wc.get("orders", params={"per_page": 100, "page": 4}).json() == []


def test_per_page_over_100_is_refused_as_wordpress_does(wc: API) -> None:
    response = wc.get("orders", params={"per_page": 101})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["status"] == 400 and "per_page" in body["data"]["params"]


def test_orders_carry_woocommerce_money_and_dates(store: WooStore, wc: API) -> None:
    refunded = next(o for o in store.orders.values() if o.refunds)
    body = wc.get(f"orders/{refunded.id}").json()
    assert body["total"] == str(refunded.total) and body["currency"] == "USD"
    assert body["refunds"][0]["total"].startswith("-")
    assert Decimal(body["total"]) == (sum(Decimal(li["total"]) for li in body["line_items"])
                                      + Decimal(body["shipping_total"]) + Decimal(body["total_tax"]))
    assert "T" in body["date_created"] and not body["date_created"].endswith("Z")
    assert body["date_created_gmt"] != body["date_created"]  # New York is not UTC
    refunds = wc.get(f"orders/{refunded.id}/refunds").json()
    assert {r["id"] for r in refunds} == {r.id for r in refunded.refunds}
    line = refunds[-1]["line_items"][0] if refunds[-1]["line_items"] else None
    if line is not None:
        assert line["quantity"] < 0 and line["total"].startswith("-")
        assert line["meta_data"][0]["key"] == "_refunded_item_id"


def test_guest_orders_have_customer_zero_and_a_billing_email(store: WooStore, wc: API) -> None:
    guest = next(o for o in store.orders.values() if o.customer_id == 0)
    body = wc.get(f"orders/{guest.id}").json()
    assert body["customer_id"] == 0 and body["billing"]["email"]


def test_modified_after_sees_only_what_changed(store: WooStore, wc: API) -> None:
    latest = max(o.date_modified for o in store.orders.values())
    mark = latest.strftime("%Y-%m-%dT%H:%M:%S")
    assert wc.get("orders", params={"modified_after": mark, "dates_are_gmt": "true"}).json() == []
    order = store.place_order(customer_id=next(iter(store.customers)))
    changed = wc.get("orders", params={"modified_after": mark, "dates_are_gmt": "true"}).json()
    assert [o["id"] for o in changed] == [order.id]


def test_products_and_variations_carry_cost(store: WooStore, wc: API) -> None:
    products = wc.get("products", params={"per_page": 100}).json()
    assert len(products) == len(store.products)
    simple = next(p for p in products if p["type"] == "simple")
    assert simple["meta_data"][0]["key"] == "_wc_cog_cost"
    variable = next(p for p in products if p["type"] == "variable")
    variations = wc.get(f"products/{variable['id']}/variations").json()
    assert [v["id"] for v in sorted(variations, key=lambda v: v["id"])] == variable["variations"]
    assert all(v["meta_data"][0]["key"] == "_wc_cog_cost" for v in variations)


def test_customers_list_is_the_customer_role_sorted_by_name(store: WooStore, wc: API) -> None:
    response = wc.get("customers", params={"per_page": 100})
    body = response.json()
    assert response.headers["X-WP-Total"] == str(len(store.customers))
    assert [c["username"] for c in body] == sorted(c["username"] for c in body)
    assert all(c["role"] == "customer" and c["id"] >= 2 for c in body)


def test_a_duplicate_coupon_code_is_refused(wc: API) -> None:
    first = wc.post("coupons", {"code": "COMEBACK-5", "amount": "5", "discount_type": "fixed_cart"})
    assert first.status_code == 201 and first.json()["code"] == "comeback-5"
    again = wc.post("coupons", {"code": "comeback-5", "amount": "5"})
    assert again.status_code == 400
    assert again.json() == {"code": "woocommerce_rest_coupon_code_already_exists",
                            "message": "The coupon code already exists", "data": {"status": 400}}


def test_orders_refunds_and_customers_are_writable(store: WooStore, wc: API) -> None:
    customer = wc.post("customers", {"email": "noa@example.com", "first_name": "Noa"}).json()
    product = next(p for p in store.products.values() if p.type == "simple" and p.status == "publish")
    created = wc.post("orders", {"customer_id": customer["id"], "set_paid": True,
                                 "line_items": [{"product_id": product.id, "quantity": 2}]})
    assert created.status_code == 201
    order = created.json()
    assert order["status"] == "processing" and order["date_paid"] and order["customer_id"] == customer["id"]
    line = order["line_items"][0]
    refund = wc.post(f"orders/{order['id']}/refunds", {"reason": "broken", "line_items": [
        {"id": line["id"], "quantity": 2}], "api_refund": False})
    assert refund.status_code == 201, refund.text
    after = wc.get(f"orders/{order['id']}").json()
    assert after["refunds"][0]["reason"] == "broken"
    too_much = wc.post(f"orders/{order['id']}/refunds", {"amount": "1000.00"})
    assert too_much.status_code >= 400 and too_much.json()["code"] == "woocommerce_rest_cannot_create_order_refund"
    assert wc.put(f"orders/{order['id']}", {"status": "completed"}).json()["status"] in ("completed", "refunded")


def test_unknown_routes_and_missing_records_answer_like_wordpress(store: WooStore, wc: API) -> None:
    missing = wc.get("orders/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    nowhere = wc.get("nothing-here")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "rest_no_route"


def test_the_site_index_names_the_timezone(sandbox: WooCommerceSandbox, store: WooStore) -> None:
    body = requests.get(f"{store.url}/wp-json/", timeout=5).json()
    assert body["timezone_string"] == "America/New_York" and "wc/v3" in body["namespaces"]


def test_coupon_expiry_is_site_time_unless_gmt(store: WooStore, wc: API) -> None:
    local = wc.post("coupons", {"code": "local", "amount": "5", "date_expires": "2030-01-01T00:00:00"}).json()
    assert local["date_expires"] == "2030-01-01T00:00:00" and local["date_expires_gmt"] == "2030-01-01T05:00:00"
    gmt = wc.post("coupons", {"code": "gmt", "amount": "5", "date_expires_gmt": "2030-01-01T00:00:00"}).json()
    assert gmt["date_expires_gmt"] == "2030-01-01T00:00:00" and gmt["date_expires"] == "2029-12-31T19:00:00"
    assert wc.post("coupons", {"code": "bad", "date_expires": "soon"}).status_code == 400


def test_malformed_writes_are_400s(sandbox: WooCommerceSandbox, store: WooStore, wc: API, key: ApiKey) -> None:
    assert wc.post("orders", {"line_items": [{"product_id": "abc", "quantity": 1}]}).status_code == 400
    assert wc.post("orders", {"line_items": [{"product_id": 1, "quantity": "two"}]}).status_code == 400
    assert wc.post("orders", {"line_items": "nope"}).status_code == 400
    order_id = next(iter(store.orders))
    assert wc.post(f"orders/{order_id}/refunds", {"line_items": [{"quantity": 1}]}).status_code == 400
    sandbox.https = True  # query-string keys: the body below is not OAuth-signed anyway
    raw = requests.post(f"{store.url}/wp-json/wc/v3/coupons", data="{not json", timeout=5,
                        headers={"Content-Type": "application/json"},
                        params={"consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret})
    assert raw.status_code == 400 and raw.json()["code"] == "rest_invalid_json"


def test_fields_trims_the_answer_as_wordpress_does(store: WooStore, wc: API) -> None:
    answer = wc.get("orders", params={"per_page": 3, "_fields": "id,date_modified_gmt,billing.email"})
    assert answer.status_code == 200 and answer.headers["X-WP-Total"] == str(len(store.orders))
    assert all(set(o) == {"id", "date_modified_gmt", "billing"} and set(o["billing"]) == {"email"}
               for o in answer.json())
