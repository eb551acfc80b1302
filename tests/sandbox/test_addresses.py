"""Customers' default addresses and orders' shipping addresses, in every shape Shopify serves."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import requests

from commerce import geo
from integrations.shopify import queries
from sandbox.shopify import API_VERSION, ShopifySandbox, StoreGenerator, StoreSpec
from sandbox.shopify.store import SandboxError, Shop
from sandbox.store import seeddata as sd
from sandbox.store.model import Address

from .conftest import GraphQL, Receiver
from .test_bulk import download, run_bulk
from .test_webhooks import subscribe

MAILING_ADDRESS = """
id address1 address2 city province provinceCode country countryCodeV2 zip latitude longitude
name firstName lastName phone company coordinatesValidated formattedArea
"""


@pytest.fixture(scope="module")
def generated() -> StoreGenerator:
    return StoreGenerator(StoreSpec(seed=42))  # 2,000 customers, 8,000 orders


def test_addresses_are_deterministic() -> None:
    spec = StoreSpec(seed=5, customers=60, orders=200)
    first = [c.address for c in StoreGenerator(spec).customers()]
    assert first == [c.address for c in StoreGenerator(spec).customers()]
    assert first != [c.address for c in StoreGenerator(StoreSpec(seed=6, customers=60, orders=200)).customers()]


def test_a_realistic_mix_of_countries_and_clocks(generated: StoreGenerator) -> None:
    customers = generated.customers()
    buyers = set(generated.order_counts())
    with_address = [c for c in customers if c.address]
    assert all(c.address for c in customers if c.id in buyers)  # they gave one at checkout
    assert 0 < sum(1 for c in customers if c.address is None) < len(customers) * 0.1
    countries = Counter(c.address.country_code for c in with_address if c.address)
    assert set(countries) == {"US", "CA", "GB", "DE", "AU", "IL", "IR"}
    by_locale = {loc: Counter(c.address.country_code for c in with_address if c.address and c.locale == loc)
                 for loc in ("he", "fa")}
    assert by_locale["he"].most_common(1)[0][0] == "IL" and by_locale["fa"].most_common(1)[0][0] == "IR"
    us_zones = {geo.timezone_for(country_code="US", province_code=c.address.province_code or "")
                for c in with_address if c.address and c.address.country_code == "US"}
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"} <= us_zones


def test_addresses_look_real(generated: StoreGenerator) -> None:
    places = {(p.country_code, p.city): p for table in sd.PLACES.values() for p, _ in table}
    for customer in generated.customers():
        a = customer.address
        if a is None:
            continue
        place = places[(a.country_code, a.city)]
        assert a.country == sd.COUNTRY_NAMES[a.country_code]
        assert a.province_code == place.province_code
        assert (a.province is None) == (a.province_code is None)
        assert re.fullmatch(r"\d+ .+|.+ \d+|No\. \d+, .+", a.address1), a.address1
        pattern = "".join(r"\d" if ch == "#" else "[A-Z]" if ch == "@" else re.escape(ch)
                          for ch in place.zip_format)
        assert re.fullmatch(pattern, a.zip or ""), (a.zip, place.zip_format)
        assert a.latitude is not None and a.longitude is not None
        assert abs(a.latitude - place.latitude) <= 0.02 and abs(a.longitude - place.longitude) <= 0.02
        assert (a.first_name, a.last_name) == (customer.first_name, customer.last_name)
    ids = [c.address.id for c in generated.customers() if c.address]
    assert len(ids) == len(set(ids))


def test_every_place_has_the_same_clock_by_coordinates_and_by_province() -> None:
    """Bulk syncs see coordinates, customer webhooks only country and province: both must agree."""
    for table in sd.PLACES.values():
        for place, _ in table:
            by_point = geo.timezone_for(latitude=place.latitude, longitude=place.longitude)
            by_place = geo.timezone_for(country_code=place.country_code,
                                        province_code=place.province_code or "")
            assert by_point and by_point == by_place, place


def test_orders_ship_to_the_customers_address(generated: StoreGenerator) -> None:
    guests = 0
    for order, customer in generated.iter_orders_with_customers():
        assert order.shipping_address is not None
        if customer is not None:
            assert order.shipping_address == customer.address
        else:
            guests += 1
    assert guests > 0


def test_graphql_default_address(shop: Shop, gql: GraphQL) -> None:
    customer = next(c for c in shop.customers if c.address and c.address.province_code)
    body = gql(f'{{ customer(id: "{customer.gid}") {{ defaultAddress {{ {MAILING_ADDRESS} }} '
               f'addresses(first: 5) {{ city }} }} }}')
    assert "errors" not in body, body
    a = customer.address
    assert a is not None
    assert body["data"]["customer"]["defaultAddress"] == {
        "id": f"gid://shopify/MailingAddress/{a.id}?model_name=CustomerAddress",
        "address1": a.address1, "address2": a.address2, "city": a.city, "province": a.province,
        "provinceCode": a.province_code, "country": a.country, "countryCodeV2": a.country_code,
        "zip": a.zip, "latitude": a.latitude, "longitude": a.longitude,
        "name": f"{a.first_name} {a.last_name}", "firstName": a.first_name, "lastName": a.last_name,
        "phone": None, "company": None, "coordinatesValidated": True,
        "formattedArea": f"{a.city}, {a.province_code}, {a.country}",
    }
    assert body["data"]["customer"]["addresses"] == [{"city": a.city}]
    nobody = next(c for c in shop.customers if c.address is None)
    empty = gql(f'{{ customer(id: "{nobody.gid}") {{ defaultAddress {{ city }} addresses {{ city }} }} }}')
    assert empty["data"]["customer"] == {"defaultAddress": None, "addresses": []}


def test_the_contract_page_queries_carry_the_addresses(shop: Shop, gql: GraphQL) -> None:
    body = gql(queries.CUSTOMERS_PAGE_QUERY, {"first": queries.PAGE_SIZES["customers"]})  # all 120
    assert "errors" not in body, body
    nodes = {n["id"]: n for n in body["data"]["customers"]["nodes"]}
    for customer in shop.customers:
        got = nodes[customer.gid]["defaultAddress"]
        if customer.address is None:
            assert got is None
        else:
            assert got == {"countryCodeV2": customer.address.country_code,
                           "provinceCode": customer.address.province_code,
                           "latitude": customer.address.latitude, "longitude": customer.address.longitude}
    orders = gql(queries.ORDERS_PAGE_QUERY, {"first": 3})["data"]["orders"]["nodes"]
    first = next(o for o in shop.orders if o.gid == orders[0]["id"])
    assert first.shipping_address is not None
    assert orders[0]["shippingAddress"] == {
        "address1": first.shipping_address.address1, "address2": first.shipping_address.address2,
        "city": first.shipping_address.city, "zip": first.shipping_address.zip,
        "countryCodeV2": first.shipping_address.country_code}


def test_page_sizes_keep_every_page_query_under_the_cost_cap(shop: Shop, token: str) -> None:
    url = f"{shop.origin}/admin/api/{API_VERSION}/graphql.json"
    for resource, query in (("customers", queries.CUSTOMERS_PAGE_QUERY), ("products", queries.PRODUCTS_PAGE_QUERY),
                            ("orders", queries.ORDERS_PAGE_QUERY)):
        body = requests.post(url, timeout=10, headers={"X-Shopify-Access-Token": token}, json={
            "query": query, "variables": {"first": queries.PAGE_SIZES[resource]}}).json()
        assert "errors" not in body, (resource, body.get("errors"))
        assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000, resource
    assert body["extensions"]["cost"]["requestedQueryCost"] > 0


def test_bulk_lines_carry_the_addresses(shop: Shop, gql: GraphQL) -> None:
    customers = [json.loads(x) for x in download(run_bulk(gql, queries.BULK_CUSTOMERS)["url"]).splitlines()]
    by_id = {c.gid: c for c in shop.customers}
    for line in customers:
        address = by_id[line["id"]].address
        assert line["defaultAddress"] == (None if address is None else {
            "countryCodeV2": address.country_code, "provinceCode": address.province_code,
            "latitude": address.latitude, "longitude": address.longitude})
    orders = [json.loads(x) for x in download(run_bulk(gql, queries.BULK_ORDERS)["url"]).splitlines()]
    roots = [x for x in orders if "__parentId" not in x]
    assert roots and all(r["shippingAddress"]["countryCodeV2"] for r in roots)


def test_search_by_country(shop: Shop, gql: GraphQL) -> None:
    body = gql('{ customers(first: 250, query: "country:IR") { nodes { id } } }')
    expected = {c.gid for c in shop.customers if c.address and c.address.country_code == "IR"}
    assert expected and {n["id"] for n in body["data"]["customers"]["nodes"]} == expected


def test_webhook_shapes(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL, receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("ORDERS_CREATE", "CUSTOMERS_UPDATE"))
    customer = next(c for c in shop.customers if c.address and c.address.province_code)
    order = shop.place_order(customer.id)
    assert sandbox.webhooks.wait_idle(5)
    got = {r.topic: r.json for r in receiver.requests}
    a = customer.address
    assert a is not None
    default = got["customers/update"]["default_address"]
    assert default == {
        "id": a.id, "customer_id": customer.id, "first_name": a.first_name, "last_name": a.last_name,
        "company": None, "address1": a.address1, "address2": a.address2, "city": a.city,
        "province": a.province, "country": a.country, "zip": a.zip, "phone": None,
        "name": f"{a.first_name} {a.last_name}", "province_code": a.province_code,
        "country_code": a.country_code, "country_name": a.country, "default": True,
    }
    assert got["customers/update"]["addresses"] == [default]
    created = got["orders/create"]
    assert created["id"] == order.id
    assert created["shipping_address"] == {
        "first_name": a.first_name, "address1": a.address1, "phone": None, "city": a.city, "zip": a.zip,
        "province": a.province, "country": a.country, "last_name": a.last_name, "address2": a.address2,
        "company": None, "latitude": a.latitude, "longitude": a.longitude,
        "name": f"{a.first_name} {a.last_name}", "country_code": a.country_code,
        "province_code": a.province_code,
    }
    assert created["billing_address"] == created["shipping_address"]
    assert created["customer"]["default_address"] == default


def test_create_and_move_a_customer(sandbox: ShopifySandbox, shop: Shop, gql: GraphQL,
                                    receiver: Receiver) -> None:
    subscribe(gql, receiver.url, ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE"))
    customer = shop.create_customer(email="new@example.com", first_name="Shirin", address={
        "address1": "No. 12, Valiasr St", "city": "Tehran", "country_code": "IR", "zip": "19395-12345",
        "latitude": 35.7, "longitude": 51.4})
    assert customer.address == Address(
        id=customer.address.id if customer.address else 0, first_name="Shirin", last_name=None,
        address1="No. 12, Valiasr St", address2=None, city="Tehran", province=None, province_code=None,
        country="Iran", country_code="IR", zip="19395-12345", latitude=35.7, longitude=51.4)
    before = shop.place_order(customer.id)
    shop.update_customer(customer.id, address={"address1": "1 Main St", "city": "Los Angeles",
                                               "province_code": "CA", "country_code": "US", "zip": "90001"})
    after = shop.place_order(customer.id)
    assert sandbox.webhooks.wait_idle(5)
    updates = [r.json for r in receiver.requests if r.topic == "customers/update"]
    assert updates[-1]["default_address"]["province"] == "California"
    assert updates[-1]["default_address"]["country_code"] == "US"
    assert before.shipping_address is not None and before.shipping_address.city == "Tehran"  # kept
    assert after.shipping_address is not None and after.shipping_address.city == "Los Angeles"
    shop.update_customer(customer.id, address=None)
    assert shop.customer_json(customer.id)["default_address"] is None
    with pytest.raises(SandboxError):
        shop.update_customer(customer.id, address={"city": "Nowhere"})
    with pytest.raises(SandboxError):
        shop.update_customer(customer.id, address={"country_code": "IL", "planet": "Earth"})


def test_new_customers_at_checkout_get_an_address(shop: Shop) -> None:
    order = shop.place_order(new_customer=True)
    customer = shop.get_customer(order.customer_id or 0)
    assert customer is not None and customer.address is not None
    assert order.shipping_address == customer.address
    assert shop.order_json(order.id)["shipping_address"]["country_code"] == customer.address.country_code


def test_checkout_saves_an_address_for_a_customer_without_one(shop: Shop) -> None:
    customer = next(c for c in shop.customers if c.address is None)
    order = shop.place_order(customer.id)
    assert customer.address is not None and order.shipping_address == customer.address
    assert shop.customer_json(customer.id)["default_address"]["country_code"] == customer.address.country_code
