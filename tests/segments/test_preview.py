"""The builder's live count: the same validation and rule as a saved segment, nothing written."""

import pytest

from retention_app.errors import ApplicationError
from segments.models import Segment, SegmentMembership
from segments.selectors import segment_counts, segment_preview_count
from segments.services import segment_create, shop_recompute
from tests.factories import ShopFactory
from tests.segments.helpers import buyer

pytestmark = pytest.mark.django_db

BIG = {"all": [{"field": "total_spent", "op": "gte", "value": "100"},
               {"any": [{"field": "tag", "op": "contains", "value": "vip"},
                        {"field": "orders_count", "op": "gte", "value": 2}]}]}


def test_the_preview_counts_what_the_saved_segment_holds(shop):
    # given
    buyer(shop, 10, spend="150", tags=("VIP",))
    buyer(shop, 30, 10, spend="60")
    buyer(shop, 10, spend="150")
    buyer(shop, 10, spend="20", tags=("vip",))
    shop_recompute(shop=shop)
    # when
    preview = segment_preview_count(shop=shop, conditions=BIG, key="big")
    # then nothing was written, and the saved segment holds as many
    assert preview == 2
    assert not Segment.objects.filter(shop=shop, key="big").exists()
    segment_create(shop=shop, key="big", name="Big", conditions=BIG)
    assert next(row["count"] for row in segment_counts(shop=shop) if row["key"] == "big") == preview
    assert SegmentMembership.objects.filter(segment__key="big").count() == 2


def test_the_preview_refuses_what_the_api_refuses(shop):
    with pytest.raises(ApplicationError) as raised:
        segment_preview_count(shop=shop, conditions={"all": [{"field": "orders_count", "op": "gte", "value": "-1"},
                                                             {"field": "segment", "op": "is", "value": "nope"}]})
    assert (raised.value.status, raised.value.code) == (400, "invalid_conditions")
    assert raised.value.extra["errors"] == [
        "conditions.all[0]: orders_count needs a whole number of at least 0 and at most 1000000"]


def test_the_preview_counts_one_shops_customers(shop):
    other = ShopFactory(domain="segment-other.myshopify.com")
    buyer(other, 10, spend="500")
    shop_recompute(shop=other)
    assert segment_preview_count(shop=shop, conditions={"all": [{"field": "total_spent", "op": "gte",
                                                                 "value": "1"}]}) == 0


def test_the_preview_api_counts_as_the_create_api_does(client, shop):
    from tests.integrations.test_oauth import session_token

    auth = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    buyer(shop, 10, spend="150", tags=("VIP",))
    buyer(shop, 30, 10, spend="40")  # 80 in all
    shop_recompute(shop=shop)
    conditions = {"all": [{"field": "total_spent", "op": "gte", "value": "100"}]}
    preview = client.post("/api/segments/preview", {"conditions": conditions}, content_type="application/json",
                          headers=auth)
    assert preview.status_code == 200 and preview.json() == {"count": 1}
    created = client.post("/api/segments", {"key": "big", "name": "Big", "conditions": conditions},
                          content_type="application/json", headers=auth)
    assert created.json()["count"] == 1
    bad = client.post("/api/segments/preview", {"conditions": {"all": []}}, content_type="application/json",
                      headers=auth)
    assert bad.status_code == 400
