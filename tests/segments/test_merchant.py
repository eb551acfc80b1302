"""Merchant segments from conditions, and the merchant API (session token, one shop's data only)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commerce.models import Customer
from loyalty.models import Account, Tier
from loyalty.services.ledger import account_for_customer
from loyalty.services.program import program_enable
from retention_app.errors import ApplicationError
from segments.models import Segment, SegmentMembership
from segments.rules import conditions_validate
from segments.selectors import segment_customers
from segments.services import segment_create, shop_recompute
from tests.factories import CustomerFactory, ShopFactory
from tests.integrations.test_oauth import session_token
from tests.segments.helpers import NOW, buyer

pytestmark = pytest.mark.django_db

BIG_VIPS = {"all": [
    {"field": "total_spent", "op": "gte", "value": "100"},
    {"any": [{"field": "tag", "op": "contains", "value": "VIP"},
             {"field": "segment", "op": "is", "value": "loyal"}]},
]}


def auth(shop) -> dict:
    return {"Authorization": f"Bearer {session_token(shop.domain)}"}


def members(segment: Segment) -> set[int]:
    return set(SegmentMembership.objects.filter(segment=segment).values_list("customer_id", flat=True))


def test_merchant_segment_from_nested_conditions(shop):
    tagged_big = buyer(shop, 10, spend="150", tags=("vip", "wholesale"))
    loyal_big = buyer(shop, 30, 20, 10, spend="40")
    buyer(shop, 10, spend="150", tags=("wholesale",))  # big, neither tagged nor loyal
    buyer(shop, 10, spend="50", tags=("vip",))  # tagged, too small
    shop_recompute(shop=shop, now=NOW)
    segment = segment_create(shop=shop, key="big-vips", name="Big VIPs", conditions=BIG_VIPS)
    assert members(segment) == {tagged_big.pk, loyal_big.pk}
    # the daily recompute keeps it, after the predefined segment it refers to
    shop_recompute(shop=shop, now=NOW)
    assert members(segment) == {tagged_big.pk, loyal_big.pk}


@pytest.mark.parametrize("condition, expected", [
    ({"field": "orders_count", "op": "gte", "value": 2}, {"twice"}),
    ({"field": "orders_count", "op": "lte", "value": 0}, {"browser"}),
    ({"field": "days_since_last_order", "op": "gte", "value": 90}, {"old"}),
    ({"field": "days_since_last_order", "op": "lte", "value": 30}, {"twice", "hebrew"}),
    ({"field": "first_order_days_ago", "op": "lte", "value": 45}, {"hebrew"}),
    ({"field": "total_spent", "op": "lte", "value": "20.5"}, {"browser", "hebrew"}),
    ({"field": "tag", "op": "contains", "value": "לקוח-זהב"}, {"hebrew"}),
])
def test_each_condition(shop, condition, expected):
    people = {
        "twice": buyer(shop, 60, 10, spend="30"),
        "old": buyer(shop, 100, spend="30"),
        "hebrew": buyer(shop, 5, spend="20.5", tags=("לקוח-זהב",)),
        "browser": CustomerFactory(shop=shop),
    }
    shop_recompute(shop=shop, now=NOW)
    segment_create(shop=shop, key="chosen", name="Chosen", conditions=condition)
    # the segment is computed at the real clock's time: recompute at NOW for the relative conditions
    shop_recompute(shop=shop, now=NOW)
    chosen = members(Segment.objects.get(shop=shop, key="chosen"))
    assert chosen == {people[name].pk for name in expected}


def test_country_condition(shop):
    israeli, german = buyer(shop, 5), buyer(shop, 5)
    shop_recompute(shop=shop, now=NOW)
    condition = {"field": "country", "op": "is", "value": "il"}
    Customer.objects.filter(pk=israeli.pk).update(country_code="IL")
    Customer.objects.filter(pk=german.pk).update(country_code="DE")
    segment = segment_create(shop=shop, key="israel", name="Israel", conditions=condition)
    assert segment.conditions == {"field": "country", "op": "is", "value": "IL"}
    assert members(segment) == {israeli.pk}


def test_tier_condition(shop):
    program_enable(shop=shop)
    gold_member, bronze_member = buyer(shop, 5), buyer(shop, 5)
    gold = Tier.objects.get(shop=shop, name="Gold")
    Account.objects.filter(pk=account_for_customer(shop=shop, customer=gold_member).pk).update(tier=gold)
    account_for_customer(shop=shop, customer=bronze_member)
    shop_recompute(shop=shop, now=NOW)
    segment = segment_create(shop=shop, key="gold", name="Gold members",
                             conditions={"field": "tier", "op": "is", "value": "gold"})
    assert members(segment) == {gold_member.pk}


@pytest.mark.parametrize("conditions, problem", [
    ({"field": "country", "op": "equals", "value": "IL"}, "country takes 'is'"),
    ({"field": "country", "op": "is", "value": "ISR"}, "two-letter ISO 3166 code"),
    ({"field": "total_spent", "op": "gt", "value": "1"}, "takes 'gte' or 'lte'"),
    ({"field": "orders_count", "op": "gte", "value": 1.5}, "whole number"),
    ({"field": "total_spent", "op": "gte", "value": "-3"}, "at least 0"),
    ({"field": "segment", "op": "is", "value": "nope"}, "unknown segment 'nope'"),
    ({"field": "segment", "op": "is", "value": "mine"}, "cannot refer to itself"),
    ({"all": []}, "non-empty list"),
    ({"all": [{"field": "tag", "op": "contains", "value": "x"}], "any": []}, "exactly one key"),
    ({"field": "tag", "op": "contains"}, "exactly 'field', 'op' and 'value'"),
    ({"field": "shoe_size", "op": "gte", "value": 1}, "unknown field"),
    ([{"field": "tag", "op": "contains", "value": "x"}], "expected an object"),
    ({"all": [{"all": [{"all": [{"all": [{"field": "tag", "op": "contains", "value": "x"}]}]}]}]}, "deeper"),
])
def test_invalid_conditions_are_refused(shop, conditions, problem):
    with pytest.raises(ApplicationError) as raised:
        conditions_validate(conditions, shop=shop, own_key="mine")
    assert raised.value.status == 400
    assert any(problem in error for error in raised.value.extra["errors"])


def test_api_lists_creates_and_drills_down(client, shop):
    big = buyer(shop, 10, spend="300", tags=("vip",))
    buyer(shop, 10, spend="120", tags=("vip",))
    shop_recompute(shop=shop, now=NOW)
    created = client.post("/api/segments", {"key": "big-vips", "name": "Big VIPs", "conditions": BIG_VIPS},
                          content_type="application/json", headers=auth(shop))
    assert created.status_code == 201
    assert (created.json()["kind"], created.json()["count"]) == ("merchant", 2)
    listed = client.get("/api/segments", headers=auth(shop)).json()
    assert {row["key"]: row["count"] for row in listed["segments"]}["big-vips"] == 2
    assert listed["settings"]["churn_days"] == 365
    described = {row["key"]: row for row in listed["segments"]}
    assert described["loyal"]["description"] == "At least 3 orders, the latest in the last 180 days."
    assert described["big-vips"]["conditions"] == BIG_VIPS
    page = client.get("/api/segments/big-vips/customers?page=1&page_size=1", headers=auth(shop)).json()
    assert (page["count"], page["page_size"], len(page["customers"])) == (2, 1, 1)
    first = page["customers"][0]
    assert (first["id"], first["total_spent"], first["orders_count"]) == (big.pk, "300.000", 1)
    second = client.get("/api/segments/big-vips/customers?page=2&page_size=1", headers=auth(shop)).json()
    assert second["customers"][0]["total_spent"] == "120.000"


def test_api_refuses_invalid_conditions_and_stores_nothing(client, shop):
    response = client.post("/api/segments", {"key": "many", "name": "Many orders",
                                             "conditions": {"field": "orders_count", "op": "gt", "value": 5}},
                           content_type="application/json", headers=auth(shop))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_conditions"
    assert response.json()["errors"] == ["conditions: orders_count takes 'gte' or 'lte'"]
    assert not Segment.objects.filter(key="many").exists()
    duplicate = client.post("/api/segments", {"key": "loyal", "name": "Mine", "conditions": BIG_VIPS},
                            content_type="application/json", headers=auth(shop))
    assert duplicate.status_code == 409


def test_churn_days_through_the_api(client, shop, django_capture_on_commit_callbacks):
    customer = buyer(shop, 200, 190, now=timezone.now())
    shop_recompute(shop=shop)
    assert not SegmentMembership.objects.filter(customer=customer, segment__key="churned").exists()
    with django_capture_on_commit_callbacks(execute=True):  # the recompute is enqueued after the commit
        response = client.patch("/api/segments/settings", {"churn_days": 150}, content_type="application/json",
                                headers=auth(shop))
    assert response.json() == {"churn_days": 150}
    assert SegmentMembership.objects.filter(customer=customer, segment__key="churned").exists()
    assert client.patch("/api/segments/settings", {"churn_days": 3}, content_type="application/json",
                        headers=auth(shop)).status_code == 400


def test_a_shop_never_sees_another_shops_segments(client, shop):
    buyer(shop, 10, spend="300", tags=("vip",))
    shop_recompute(shop=shop, now=NOW)
    segment_create(shop=shop, key="big-vips", name="Big VIPs", conditions=BIG_VIPS)
    other = ShopFactory(domain="nosy.myshopify.com")
    listed = client.get("/api/segments", headers=auth(other)).json()["segments"]
    assert "big-vips" not in {row["key"] for row in listed}
    assert all(row["count"] == 0 for row in listed)
    assert client.get("/api/segments/big-vips/customers", headers=auth(other)).status_code == 404
    assert client.get("/api/segments/one_time/customers", headers=auth(other)).json()["customers"] == []
    # the other shop may use the same key for its own segment; the first shop's is untouched
    created = client.post("/api/segments", {"key": "big-vips", "name": "Theirs", "conditions": BIG_VIPS},
                          content_type="application/json", headers=auth(other))
    assert (created.status_code, created.json()["count"]) == (201, 0)
    assert Segment.objects.get(shop=shop, key="big-vips").name == "Big VIPs"
    assert Decimal(client.get("/api/segments/big-vips/customers", headers=auth(shop)).json()["customers"][0]
                   ["total_spent"]) == Decimal("300")


def test_drill_down_costs_the_same_queries_for_any_page_size(shop):
    for _ in range(6):
        buyer(shop, 5)
    shop_recompute(shop=shop, now=NOW)
    counts = []
    for size in (2, 6):
        with CaptureQueriesContext(connection) as queries:
            page = segment_customers(shop=shop, key="one_time", page=1, page_size=size)
        assert len(page["customers"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
