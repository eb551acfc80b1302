"""The segment builder: the live count is the API's count, a saved segment holds what the count
said, bad conditions are explained on their row, delete is the API's, another shop's segment is 404."""

from typing import Any

import pytest

from segments.models import Segment, SegmentMembership
from segments.services import segment_create, shop_recompute
from tests.integrations.test_oauth import session_token
from tests.segments.helpers import buyer

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/segments/"


@pytest.fixture
def alpha(two_shops: Any, member: Any, client: Any) -> Any:
    shop = two_shops[0]
    buyer(shop, 10, spend="150", tags=("VIP",))
    buyer(shop, 40, 20, 10, spend="80")
    buyer(shop, 5, spend="30", tags=("vip",))
    buyer(two_shops[1], 5, spend="900", tags=("vip",))  # another shop's big spender
    shop_recompute(shop=shop)
    shop_recompute(shop=two_shops[1])
    client.force_login(member)
    return shop


def _rows(*rows: tuple[str, str, str]) -> dict[str, list[str]]:
    return {"field": [row[0] for row in rows], "op": [row[1] for row in rows], "value": [row[2] for row in rows]}


def test_the_live_count_is_what_the_saved_segment_and_the_api_hold(client: Any, alpha: Any) -> None:
    # given
    rows = _rows(("total_spent", "gte", "100"), ("tag", "is", "vip"))
    # when: the builder asks for the count as the merchant types (htmx)
    count = client.get(URL, {"count": "1", "match": "any", **rows}, headers={"HX-Request": "true"})
    # then
    assert count.status_code == 200
    assert 'data-count="3"' in count.content.decode()
    assert not Segment.objects.filter(shop=alpha, kind="merchant").exists()  # counting writes nothing
    saved = client.post(URL, {"action": "save", "name": "Big or VIP", "key": "", "match": "any", **rows})
    assert saved.status_code == 302 and "saved=1" in saved["Location"]
    segment = Segment.objects.get(shop=alpha, key="big-or-vip")
    assert segment.conditions == {"any": [{"field": "total_spent", "op": "gte", "value": "100"},
                                          {"field": "tag", "op": "contains", "value": "vip"}]}
    assert SegmentMembership.objects.filter(segment=segment).count() == 3
    api = client.get("/api/segments", headers={"Authorization": f"Bearer {session_token(alpha.domain)}"}).json()
    assert next(row["count"] for row in api["segments"] if row["key"] == "big-or-vip") == 3
    page = client.get(URL).content.decode()
    assert "Big or VIP" in page and 'data-count="3"' in page


def test_all_of_the_conditions_narrows_the_count(client: Any, alpha: Any) -> None:
    rows = _rows(("total_spent", "gte", "100"), ("tag", "is", "vip"))
    count = client.get(URL, {"count": "1", "match": "all", **rows}).content.decode()
    assert 'data-count="1"' in count


def test_bad_conditions_are_explained_on_their_row_and_nothing_is_saved(client: Any, alpha: Any) -> None:
    rows = _rows(("orders_count", "gte", "2.5"), ("segment", "is", "nope"), ("country", "is", "Israel"))
    count = client.get(URL, {"count": "1", "match": "all", **rows}).content.decode()
    assert "Fix the conditions" in count
    response = client.post(URL, {"action": "save", "name": "Broken", "match": "all", **rows})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter a whole number." in page
    assert "There is no segment with this key." in page
    assert "Enter a two-letter country code" in page
    assert page.count('aria-invalid="true"') >= 3
    assert not Segment.objects.filter(shop=alpha, kind="merchant").exists()
    too_big = client.post(URL, {"action": "save", "name": "Huge", "match": "all",
                                **_rows(("days_since_last_order", "gte", "99999999"))})
    assert too_big.status_code == 400 and "Enter a number from 0 to" in too_big.content.decode()


def test_a_taken_key_is_refused_on_the_key_field(client: Any, alpha: Any) -> None:
    segment_create(shop=alpha, key="vips", name="VIPs", conditions={"all": [{"field": "tag", "op": "contains",
                                                                            "value": "vip"}]})
    response = client.post(URL, {"action": "save", "name": "Other", "key": "vips", "match": "all",
                                 **_rows(("orders_count", "gte", "1"))})
    assert response.status_code == 400
    assert "A segment with this key exists" in response.content.decode()


def test_delete_is_the_apis_delete_and_another_shops_segment_is_not_found(client: Any, alpha: Any,
                                                                            two_shops: Any) -> None:
    segment_create(shop=alpha, key="vips", name="VIPs", conditions={"all": [{"field": "tag", "op": "contains",
                                                                            "value": "vip"}]})
    segment_create(shop=two_shops[1], key="theirs", name="Theirs",
                   conditions={"all": [{"field": "orders_count", "op": "gte", "value": "1"}]})
    foreign = client.post(URL, {"action": "delete", "key": "theirs"})
    assert foreign.status_code == 404
    assert Segment.objects.filter(shop=two_shops[1], key="theirs").exists()
    predefined = client.post(URL, {"action": "delete", "key": "loyal"})
    assert predefined.status_code == 409
    assert "cannot be deleted" in predefined.content.decode()
    deleted = client.post(URL, {"action": "delete", "key": "vips"})
    assert deleted.status_code == 302
    assert not Segment.objects.filter(shop=alpha, key="vips").exists()
    assert not SegmentMembership.objects.filter(shop=alpha, segment__key="vips").exists()


def test_adding_and_removing_a_row_keeps_what_was_typed(client: Any, alpha: Any) -> None:
    rows = _rows(("total_spent", "gte", "100"), ("tag", "is", "vip"))
    added = client.post(URL, {"action": "add_row", "name": "Draft", "match": "any", **rows})
    page = added.content.decode()
    assert added.status_code == 200
    assert page.count('name="field"') == 3 and 'value="Draft"' in page and "Please correct" not in page
    removed = client.post(URL, {"remove": "0", "name": "Draft", "match": "any", **rows}).content.decode()
    assert removed.count('name="field"') == 1 and 'value="vip"' in removed and 'value="100"' not in removed


def test_editing_a_segment_keeps_its_key_and_recounts_its_members(client: Any, alpha: Any) -> None:
    segment_create(shop=alpha, key="big", name="Big", conditions={"all": [{"field": "total_spent", "op": "gte",
                                                                          "value": "100"}]})
    page = client.get(URL, {"edit": "big"}).content.decode()
    assert "Edit the segment" in page and 'name="editing" value="big"' in page and 'value="100"' in page
    response = client.post(URL, {"action": "save", "editing": "big", "name": "Bigger", "match": "all",
                                 **_rows(("total_spent", "gte", "200"))})
    assert response.status_code == 302
    segment = Segment.objects.get(shop=alpha, key="big")
    assert segment.name == "Bigger"
    assert segment.conditions == {"all": [{"field": "total_spent", "op": "gte", "value": "200"}]}
    assert SegmentMembership.objects.filter(segment=segment).count() == 1  # 240 only (150 and 30 fall out)


def test_a_segment_cannot_come_back_to_itself_through_another(client: Any, alpha: Any) -> None:
    segment_create(shop=alpha, key="a", name="A", conditions={"all": [{"field": "orders_count", "op": "gte",
                                                                      "value": "1"}]})
    segment_create(shop=alpha, key="b", name="B", conditions={"all": [{"field": "segment", "op": "is",
                                                                      "value": "a"}]})
    response = client.post(URL, {"action": "save", "editing": "a", "name": "A", "match": "all",
                                 **_rows(("segment", "is", "b"))})
    assert response.status_code == 400
    assert "refer to itself through other segments" in response.content.decode()
    assert Segment.objects.get(shop=alpha, key="a").conditions["all"][0]["field"] == "orders_count"
    api = client.patch("/api/segments/b", {"name": "B2", "conditions": {"all": [{"field": "tag", "op": "contains",
                                                                                "value": "vip"}]}},
                       content_type="application/json",
                       headers={"Authorization": f"Bearer {session_token(alpha.domain)}"})
    assert api.status_code == 200 and api.json()["count"] == 2
    foreign = client.post(URL, {"action": "save", "editing": "theirs", "name": "X", "match": "all",
                                **_rows(("orders_count", "gte", "1"))})
    assert foreign.status_code == 404
