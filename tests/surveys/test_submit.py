"""Answering a survey: every answer checked first, stored once, points once, zero-party data kept."""

from datetime import date

import pytest

from loyalty.models import Account, EarningRule, LedgerEntry
from loyalty.services.ledger import account_for_customer
from retention_app.errors import ApplicationError
from surveys.models import Answer, CustomerProfile, Response
from surveys.selectors import survey_list
from surveys.services import response_submit
from tests.factories import CustomerFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


def test_presets_start_switched_off_with_three_languages(shop):
    presets = survey_list(shop=shop)
    assert {survey.key: survey.kind for survey in presets} == {
        "nps": "nps", "satisfaction": "satisfaction", "zero_party": "zero_party"}
    assert not any(survey.is_active for survey in presets)
    for survey in presets:
        for question in survey.questions.all():
            assert set(question.text) == {"en", "he", "fa"}
    assert len(survey_list(shop=shop)) == 3


def test_invalid_answers_are_all_reported_and_nothing_is_stored(surveys, customer):
    account = account_for_customer(shop=customer.shop, customer=customer)
    # when
    with pytest.raises(ApplicationError) as raised:
        response_submit(survey=surveys["nps"], customer=customer, channel="widget",
                        answers={"recommend": 11, "reason": 5, "colour": "blue"})
    # then
    assert raised.value.status == 400 and raised.value.code == "invalid_answers"
    assert set(raised.value.extra["fields"]) == {"recommend", "reason", "colour"}
    assert (Response.objects.count(), Answer.objects.count()) == (0, 0)
    assert not LedgerEntry.objects.filter(account=account).exists()


@pytest.mark.parametrize("answers, field", [
    ({}, "recommend"),  # required
    ({"recommend": True}, "recommend"),  # a boolean is not a score
    ({"recommend": "7.5"}, "recommend"),
    ({"recommend": -1}, "recommend"),
])
def test_score_must_be_a_whole_number_from_0_to_10(surveys, customer, answers, field):
    with pytest.raises(ApplicationError) as raised:
        response_submit(survey=surveys["nps"], customer=customer, answers=answers, channel="widget")
    assert list(raised.value.extra["fields"]) == [field]
    assert not Response.objects.exists()


def test_typed_answers_are_stored_in_their_columns(surveys, customer):
    order = OrderFactory(shop=customer.shop, customer=customer)
    submitted = response_submit(survey=surveys["satisfaction"], customer=customer, order=order, channel="email",
                                answers={"met_expectations": "yes", "on_time": False, "well_packed": "true",
                                         "comment": "  Faster shipping please  "})
    stored = {a.question.key: a for a in submitted.response.answers.select_related("question")}
    assert (stored["met_expectations"].yes_no, stored["on_time"].yes_no, stored["well_packed"].yes_no) == (
        True, False, True)
    assert stored["comment"].text == "Faster shipping please"
    assert (submitted.response.order_id, submitted.response.channel) == (order.pk, "email")


def test_choice_answers_must_be_among_the_options(surveys, customer):
    with pytest.raises(ApplicationError) as raised:
        response_submit(survey=surveys["zero_party"], customer=customer, channel="widget",
                        answers={"interests": ["offers", "cars"]})
    assert list(raised.value.extra["fields"]) == ["interests"]
    assert not CustomerProfile.objects.exists()


def test_double_submit_changes_nothing_and_awards_points_once(surveys, customer):
    account = account_for_customer(shop=customer.shop, customer=customer)
    # when
    first = response_submit(survey=surveys["nps"], customer=customer, channel="widget",
                            answers={"recommend": 9, "reason": "great service"})
    second = response_submit(survey=surveys["nps"], customer=customer, channel="widget",
                             answers={"recommend": 2, "reason": "changed my mind"})
    # then
    assert (first.created, first.points) == (True, 20)
    assert (second.created, second.points, second.response.pk) == (False, 0, first.response.pk)
    assert Response.objects.count() == 1
    assert list(Answer.objects.order_by("question__position").values_list("score", "text")) == [
        (9, ""), (None, "great service")]
    assert list(LedgerEntry.objects.filter(account=account).values_list("points", flat=True)) == [20]


def test_no_points_without_a_loyalty_account_and_none_is_opened(surveys, customer):
    submitted = response_submit(survey=surveys["nps"], customer=customer, answers={"recommend": 10},
                                channel="widget")
    assert (submitted.created, submitted.points) == (True, 0)
    assert not Account.objects.exists()


def test_no_points_when_the_survey_rule_is_off(surveys, customer):
    account = account_for_customer(shop=customer.shop, customer=customer)
    EarningRule.objects.filter(shop=customer.shop, kind="survey").update(is_enabled=False)
    submitted = response_submit(survey=surveys["nps"], customer=customer, answers={"recommend": 10},
                                channel="widget")
    assert submitted.points == 0
    assert not LedgerEntry.objects.filter(account=account).exists()


def test_the_same_survey_may_be_answered_once_per_order(surveys, customer):
    first, second = OrderFactory(shop=customer.shop, customer=customer), OrderFactory(shop=customer.shop,
                                                                                      customer=customer)
    answers = {"met_expectations": "yes", "on_time": "yes", "well_packed": "no"}
    for order in (first, second, first):
        response_submit(survey=surveys["satisfaction"], customer=customer, order=order, answers=answers,
                        channel="email")
    assert sorted(Response.objects.values_list("order_id", flat=True)) == sorted([first.pk, second.pk])


def test_zero_party_birthday_fills_an_empty_birthday_only(surveys, shop):
    empty = CustomerFactory(shop=shop, birthday=None)
    known = CustomerFactory(shop=shop, birthday=date(1990, 5, 17))
    for customer in (empty, known):
        response_submit(survey=surveys["zero_party"], customer=customer, channel="widget",
                        answers={"birthday": "1988-02-29", "interests": ["tips", "offers"],
                                 "shopping_for": "family"})
    empty.refresh_from_db()
    known.refresh_from_db()
    assert empty.birthday == date(1988, 2, 29)
    assert known.birthday == date(1990, 5, 17)
    profile = CustomerProfile.objects.get(customer=empty)
    assert (profile.interests, profile.preferences) == (["offers", "tips"], ["family"])


def test_a_birthday_in_the_future_is_refused(surveys, customer):
    with pytest.raises(ApplicationError) as raised:
        response_submit(survey=surveys["zero_party"], customer=customer, channel="widget",
                        answers={"birthday": "2999-01-01"})
    assert list(raised.value.extra["fields"]) == ["birthday"]
    customer.refresh_from_db()
    assert customer.birthday is None


def test_a_closed_survey_takes_no_answers(shop, customer):
    nps = next(survey for survey in survey_list(shop=shop) if survey.key == "nps")
    with pytest.raises(ApplicationError) as raised:
        response_submit(survey=nps, customer=customer, answers={"recommend": 10}, channel="widget")
    assert (raised.value.status, raised.value.code) == (409, "survey_closed")
    assert not Response.objects.exists()


def test_another_shops_customer_or_order_cannot_answer(surveys, customer):
    stranger = CustomerFactory(shop=ShopFactory(domain="elsewhere.myshopify.com"))
    someone_elses_order = OrderFactory(shop=customer.shop)
    with pytest.raises(ApplicationError) as stranger_raised:
        response_submit(survey=surveys["nps"], customer=stranger, answers={"recommend": 10}, channel="widget")
    with pytest.raises(ApplicationError) as order_raised:
        response_submit(survey=surveys["satisfaction"], customer=customer, order=someone_elses_order,
                        answers={"met_expectations": "yes", "on_time": "yes", "well_packed": "yes"},
                        channel="widget")
    assert (stranger_raised.value.status, order_raised.value.status) == (404, 404)
    assert not Response.objects.exists()
