"""NPS = % promoters (9–10) − % detractors (0–6), per range and per month in the shop's time zone."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from surveys.models import Response
from surveys.selectors import nps_by_month, nps_summary, survey_list, survey_results
from surveys.services import response_submit
from tests.factories import CustomerFactory, ShopFactory

pytestmark = pytest.mark.django_db


def answer(survey, score: int, at: datetime, reason: str = "") -> Response:
    customer = CustomerFactory(shop_id=survey.shop_id)
    submitted = response_submit(survey=survey, customer=customer, channel="email",
                                answers={"recommend": score, "reason": reason})
    Response.objects.filter(pk=submitted.response.pk).update(submitted_at=at)
    return submitted.response


MARCH = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_five_promoters_three_passives_two_detractors_make_30(surveys, shop):
    for score in (10, 10, 9, 9, 9, 8, 7, 7, 6, 0):
        answer(surveys["nps"], score, MARCH)
    summary = nps_summary(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert summary == {"score": Decimal("30.00"), "responses": 10, "promoters": 5, "passives": 3, "detractors": 2}


def test_score_is_rounded_to_two_places_and_none_without_answers(surveys, shop):
    for score in (10, 10, 7):  # 2 promoters of 3: 66.666… %
        answer(surveys["nps"], score, MARCH)
    assert nps_summary(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 31))["score"] == Decimal("66.67")
    answer(surveys["nps"], 0, MARCH)  # (2 - 1) / 4
    assert nps_summary(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 31))["score"] == Decimal("25.00")
    empty = nps_summary(shop=shop, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert empty == {"score": None, "responses": 0, "promoters": 0, "passives": 0, "detractors": 0}


def test_range_is_inclusive_in_the_shops_time_zone(surveys, shop):
    # Jerusalem is UTC+3 in summer, UTC+2 in winter.
    answer(surveys["nps"], 10, datetime(2026, 3, 31, 21, 30, tzinfo=UTC))  # 1 April 00:30 local
    answer(surveys["nps"], 0, datetime(2026, 3, 31, 20, 30, tzinfo=UTC))  # 31 March 23:30 local
    march = nps_summary(shop=shop, start=date(2026, 3, 31), end=date(2026, 3, 31))
    april = nps_summary(shop=shop, start=date(2026, 4, 1), end=date(2026, 4, 1))
    assert (march["detractors"], march["promoters"]) == (1, 0)
    assert (april["detractors"], april["promoters"]) == (0, 1)


def test_by_month_lists_every_month_of_the_range(surveys, shop):
    answer(surveys["nps"], 10, datetime(2026, 1, 15, tzinfo=UTC))
    answer(surveys["nps"], 3, datetime(2026, 1, 31, 22, 30, tzinfo=UTC))  # 1 February local
    answer(surveys["nps"], 9, datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    months = nps_by_month(shop=shop, start=date(2026, 1, 1), end=date(2026, 3, 31))
    assert [(m["month"], m["score"], m["responses"]) for m in months] == [
        (date(2026, 1, 1), Decimal("100.00"), 1),
        (date(2026, 2, 1), Decimal("-100.00"), 1),
        (date(2026, 3, 1), Decimal("100.00"), 1),
    ]
    assert [m["month"] for m in nps_by_month(shop=shop, start=date(2026, 4, 5), end=date(2026, 5, 2))] == [
        date(2026, 4, 1), date(2026, 5, 1)]


def test_other_surveys_and_other_shops_do_not_count(surveys, shop):
    answer(surveys["nps"], 10, MARCH)
    other = ShopFactory(domain="other.myshopify.com", timezone="Asia/Jerusalem")
    [other_nps] = [s for s in survey_list(shop=other) if s.key == "nps"]
    other_nps.is_active = True
    other_nps.save()
    answer(other_nps, 0, MARCH)
    assert nps_summary(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 31))["responses"] == 1
    assert nps_summary(shop=other, start=date(2026, 3, 1), end=date(2026, 3, 31))["score"] == Decimal("-100.00")


def test_survey_results_per_question(surveys, shop):
    for score, reason in ((10, "love it"), (8, ""), (3, "late")):
        answer(surveys["nps"], score, MARCH, reason)
    results = survey_results(survey=surveys["nps"])
    recommend, reason = results["questions"]
    assert results["responses"] == 3
    assert recommend["answered"] == 3
    assert recommend["average"] == Decimal("7.00")
    assert recommend["distribution"][10] == 1 and recommend["distribution"][3] == 1
    assert recommend["nps"]["score"] == Decimal("0.00")
    assert reason["answered"] == 2
    assert sorted(item["text"] for item in reason["texts"]) == ["late", "love it"]


def test_satisfaction_and_choice_results(surveys, shop):
    for met, interests in (("yes", ["offers"]), ("no", ["offers", "tips"])):
        customer = CustomerFactory(shop=shop)
        response_submit(survey=surveys["satisfaction"], customer=customer, channel="widget",
                        answers={"met_expectations": met, "on_time": "yes", "well_packed": "yes"})
        response_submit(survey=surveys["zero_party"], customer=customer, channel="widget",
                        answers={"interests": interests, "birthday": "1990-01-01"})
    met_expectations = survey_results(survey=surveys["satisfaction"])["questions"][0]
    assert (met_expectations["yes"], met_expectations["no"]) == (1, 1)
    birthday, interests, _ = survey_results(survey=surveys["zero_party"])["questions"]
    assert interests["counts"] == {"new_arrivals": 0, "offers": 2, "gift_ideas": 0, "tips": 1}
    assert birthday == {"key": "birthday", "kind": "date", "text": birthday["text"], "answered": 2}
