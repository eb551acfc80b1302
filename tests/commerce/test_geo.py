"""A shopper's time zone from their address, and how it gets from a Shopify payload to the row."""

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from commerce import geo, services
from commerce.models import Customer
from commerce.records import CustomerRecord
from integrations.shopify import normalise
from tests.factories import ShopFactory

FIXTURES = Path(__file__).resolve().parents[1] / "integrations" / "fixtures"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- timezone_for ------------------------------------------------------------------------------

@pytest.mark.parametrize(("latitude", "longitude", "zone"), [
    (35.6892, 51.3890, "Asia/Tehran"),
    (32.0853, 34.7818, "Asia/Jerusalem"),
    (34.0522, -118.2437, "America/Los_Angeles"),
    (33.4484, -112.0740, "America/Phoenix"),
    (47.5615, -52.7126, "America/St_Johns"),
    (-31.9505, 115.8605, "Australia/Perth"),
    (21.3069, -157.8583, "Pacific/Honolulu"),
])
def test_coordinates_give_the_zone(latitude, longitude, zone):
    assert geo.timezone_for(latitude=latitude, longitude=longitude) == zone


def test_coordinates_beat_the_province():
    # El Paso keeps Mountain time although Texas is mostly Central
    assert geo.timezone_for(country_code="US", province_code="TX") == "America/Chicago"
    assert geo.timezone_for(country_code="US", province_code="TX", latitude=31.7619,
                            longitude=-106.4850) == "America/Denver"


@pytest.mark.parametrize(("country", "province", "zone"), [
    ("IL", "", "Asia/Jerusalem"),
    ("IR", "", "Asia/Tehran"),
    ("DE", "", "Europe/Berlin"),
    ("GB", "", "Europe/London"),
    ("in", "", "Asia/Kolkata"),  # codes are case-insensitive
    ("US", "CA", "America/Los_Angeles"),
    ("US", "US-NY", "America/New_York"),  # ISO 3166-2 form
    ("US", "az", "America/Phoenix"),
    ("CA", "NL", "America/St_Johns"),
    ("CA", "QC", "America/Toronto"),
    ("AU", "WA", "Australia/Perth"),
    ("BR", "AM", "America/Manaus"),
    ("ES", "", "Europe/Madrid"),
    ("ES", "TF", "Atlantic/Canary"),
    ("CN", "", "Asia/Shanghai"),
])
def test_country_and_province_give_the_zone(country, province, zone):
    assert geo.timezone_for(country_code=country, province_code=province) == zone


@pytest.mark.parametrize(("country", "province"), [
    ("US", ""), ("US", "ZZ"), ("CA", ""), ("AU", ""), ("RU", ""), ("MX", "JAL"), ("ZZ", ""), ("", ""),
])
def test_unknown_when_the_country_has_several_clocks_and_no_province_says_which(country, province):
    assert geo.timezone_for(country_code=country, province_code=province) == ""


@pytest.mark.parametrize(("latitude", "longitude"), [
    (0.0, 0.0),  # "null island": a failed geocode
    (95.0, 10.0), (10.0, 190.0), (math.nan, 10.0), (None, 51.0), (35.0, None),
])
def test_useless_coordinates_fall_back_to_the_country(latitude, longitude):
    assert geo.timezone_for(country_code="IR", latitude=latitude, longitude=longitude) == "Asia/Tehran"
    assert geo.timezone_for(latitude=latitude, longitude=longitude) == ""


def test_a_point_at_sea_gives_a_nautical_zone_only_when_nothing_better_is_known():
    assert geo.timezone_for(latitude=10.0, longitude=-30.0) == "Etc/GMT+2"
    assert geo.timezone_for(latitude=10.0, longitude=-30.0, country_code="BR", province_code="SP") \
        == "America/Sao_Paulo"


def test_every_mapped_zone_exists_and_belongs_to_its_country():
    country_zones = geo._country_zones()
    territories = {"PR", "VI", "GU", "AS", "MP"}  # US provinces with their own ISO country code
    for country, provinces in geo.PROVINCE_ZONES.items():
        for province, zone in provinces.items():
            assert geo.zone_valid(zone), zone
            owner = province if country == "US" and province in territories else country
            assert zone in country_zones[owner], (country, province, zone)
    for country, zone in geo.MAIN_ZONES.items():
        assert zone in country_zones[country], (country, zone)


def test_zone_valid():
    assert geo.zone_valid("Asia/Tehran")
    assert not any(geo.zone_valid(name) for name in ("", "Mars/Olympus", "../etc/passwd", "America", "x" * 300))


def test_a_result_is_always_a_zone_this_machine_knows():
    for latitude in range(-80, 81, 20):
        for longitude in range(-180, 181, 30):
            zone = geo.timezone_for(latitude=float(latitude), longitude=float(longitude))
            assert zone == "" or ZoneInfo(zone)


# --- from the payload to the row ---------------------------------------------------------------

def graphql_customer(address: object = ...) -> dict:
    """A customer node; ``...``: the query did not select ``defaultAddress``."""
    node: dict[str, object] = {"id": "gid://shopify/Customer/1", "updatedAt": "2026-03-01T12:00:00Z",
                               "email": "a@example.com"}
    if address is not ...:
        node["defaultAddress"] = address
    return node


def test_graphql_default_address_is_normalised_with_its_zone():
    record = normalise.customer_from_graphql(graphql_customer({
        "countryCodeV2": "US", "provinceCode": "AZ", "latitude": 33.45, "longitude": -112.07}))
    assert (record.has_address, record.country_code, record.province_code, record.timezone) == \
        (True, "US", "AZ", "America/Phoenix")


def test_graphql_without_coordinates_uses_country_and_province():
    record = normalise.customer_from_graphql(graphql_customer({
        "countryCodeV2": "CA", "provinceCode": "NL", "latitude": None, "longitude": None}))
    assert record.timezone == "America/St_Johns"


def test_a_null_default_address_clears_and_a_missing_one_keeps():
    cleared = normalise.customer_from_graphql(graphql_customer(None))
    assert (cleared.has_address, cleared.country_code, cleared.timezone) == (True, "", "")
    untouched = normalise.customer_from_graphql(graphql_customer())
    assert untouched.has_address is False


def test_rest_default_address_is_normalised():
    payload = json.loads((FIXTURES / "shopify_customer.json").read_text())
    assert normalise.customer_from_rest(payload).has_address  # "default_address": null: no address
    payload["default_address"] = {
        "id": 1, "customer_id": payload["id"], "address1": "12 Herzl St", "city": "Tel Aviv-Yafo",
        "province": None, "country": "Israel", "zip": "6100000", "province_code": None,
        "country_code": "IL", "country_name": "Israel", "default": True,
    }
    record = normalise.customer_from_rest(payload)
    assert (record.country_code, record.province_code, record.timezone) == ("IL", "", "Asia/Jerusalem")


def test_an_order_embedded_customer_without_address_keeps_the_stored_one():
    payload = json.loads((FIXTURES / "shopify_order.json").read_text())
    assert normalise.customer_from_rest(payload["customer"]).has_address is False


def test_a_malformed_address_is_a_payload_error():
    with pytest.raises(normalise.PayloadError):
        normalise.customer_from_graphql(graphql_customer("Tehran"))


def test_graphql_shipping_address_gives_the_same_key_as_the_webhook():
    rest = {"address1": "12 Herzl St.", "address2": None, "city": "Tel Aviv", "zip": "6100000", "country_code": "IL"}
    node = {"id": "gid://shopify/Order/5", "currencyCode": "ILS", "updatedAt": "2026-03-01T12:00:00Z",
            "shippingAddress": {"address1": "12 Herzl St.", "address2": None, "city": "Tel Aviv",
                                "zip": "6100000", "countryCodeV2": "IL"}}
    key = normalise.order_from_graphql(node).shipping_address_key
    assert key and key == normalise.address_key(rest)
    assert normalise.order_from_graphql({**node, "shippingAddress": None}).shipping_address_key == ""


@pytest.mark.django_db
def test_upsert_writes_the_address_only_when_the_record_carries_it():
    shop = ShopFactory(installed_at=T0 - timedelta(days=1))
    tehran = CustomerRecord(platform_id="1", updated_at=T0, email="a@example.com", country_code="IR",
                            timezone="Asia/Tehran", has_address=True)
    services.customers_upsert(shop=shop, records=[tehran], live=True)
    row = Customer.objects.get(shop=shop)
    assert (row.country_code, row.province_code, row.timezone) == ("IR", "", "Asia/Tehran")
    # a newer version without the address (another platform, an order's embedded customer) keeps it
    services.customers_upsert(shop=shop, records=[CustomerRecord(platform_id="1", updated_at=T0 + timedelta(hours=1),
                                                                 email="b@example.com")], live=True)
    row.refresh_from_db()
    assert (row.email, row.country_code, row.timezone) == ("b@example.com", "IR", "Asia/Tehran")
    # a newer version that moved to Los Angeles
    moved = CustomerRecord(platform_id="1", updated_at=T0 + timedelta(hours=2), email="b@example.com",
                           country_code="US", province_code="CA", timezone="America/Los_Angeles", has_address=True)
    services.customers_upsert(shop=shop, records=[moved], live=True)
    row.refresh_from_db()
    assert (row.country_code, row.province_code, row.timezone) == ("US", "CA", "America/Los_Angeles")
    # an older version (a late webhook) changes nothing
    services.customers_upsert(shop=shop, records=[tehran], live=True)
    row.refresh_from_db()
    assert row.timezone == "America/Los_Angeles"
    # the address removed
    gone = CustomerRecord(platform_id="1", updated_at=T0 + timedelta(hours=3), email="b@example.com", has_address=True)
    services.customers_upsert(shop=shop, records=[gone], live=True)
    row.refresh_from_db()
    assert (row.country_code, row.province_code, row.timezone) == ("", "", "")
