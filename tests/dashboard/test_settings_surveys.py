"""Survey settings: switching a survey on serves it to the widget, the merchant's question reaches
shoppers in their language, bad input is explained, another shop's survey is out of reach."""

from typing import Any

import pytest

from loyalty.services.program import program_enable
from surveys.models import Question, Survey
from tests.factories import CustomerFactory
from tests.loyalty.test_widget_api import signed  # an app-proxy query string, signed as the platform does

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/surveys/"


@pytest.fixture
def alpha(two_shops: Any, member: Any, client: Any) -> Any:
    shop = two_shops[0]
    program_enable(shop=shop)
    CustomerFactory(shop=shop, platform_id="c1", locale="he")
    client.force_login(member)
    return shop


def _widget_surveys(client: Any, shop: Any, locale: str = "en") -> list[dict]:
    return client.get(f"/proxy/surveys?{signed(shop, 'c1', locale=locale)}").json()["surveys"]


def test_switching_a_survey_on_serves_it_to_the_widget_and_off_again(client: Any, alpha: Any) -> None:
    # given: the presets are off, the widget offers nothing
    nps = Survey.objects.get(shop=alpha, key="nps")
    assert _widget_surveys(client, alpha) == []
    page = client.get(URL)
    assert page.status_code == 200
    assert "Would you recommend us?" in page.content.decode()
    # when
    response = client.post(URL, {"action": "activate", "survey": nps.pk, "active": "1"})
    # then
    assert response.status_code == 302 and "saved=1" in response["Location"]
    assert [survey["key"] for survey in _widget_surveys(client, alpha)] == ["nps"]
    client.post(URL, {"action": "activate", "survey": nps.pk, "active": "0"})
    assert _widget_surveys(client, alpha) == []


def test_a_new_choice_question_reaches_the_shopper_in_their_language(client: Any, alpha: Any) -> None:
    nps = Survey.objects.get(shop=alpha, key="nps")
    client.post(URL, {"action": "activate", "survey": nps.pk, "active": "1"})
    response = client.post(URL, {
        "action": "question_add", "survey": nps.pk, "kind": "choice", "text_en": "Where did you hear of us?",
        "text_he": "איפה שמעתם עלינו?", "choices_en": "Instagram\nA friend\n", "choices_he": "אינסטגרם\nחבר\n",
        "is_required": "on"})
    assert response.status_code == 302
    question = _widget_surveys(client, alpha, locale="he")[0]["questions"][-1]
    assert question == {"key": "where-did-you-hear-of-us", "kind": "choice", "text": "איפה שמעתם עלינו?",
                        "required": True, "multiple": False,
                        "choices": [{"value": "instagram", "label": "אינסטגרם"}, {"value": "a-friend", "label": "חבר"}]}


def test_a_question_without_text_or_options_is_explained_and_not_stored(client: Any, alpha: Any) -> None:
    nps = Survey.objects.get(shop=alpha, key="nps")
    before = Question.objects.filter(survey=nps).count()
    response = client.post(URL, {"action": "question_add", "survey": nps.pk, "kind": "choice", "text_en": " ",
                                 "choices_en": "Only one"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Write the question in at least one language." in page
    assert 'aria-invalid="true"' in page
    response = client.post(URL, {"action": "question_add", "survey": nps.pk, "kind": "choice", "text_en": "Pick",
                                 "choices_en": "Only one"})
    assert response.status_code == 400
    assert "A choice question needs 2 to 20 options." in response.content.decode()
    assert Question.objects.filter(survey=nps).count() == before


def test_rewording_a_preset_question_shows_in_the_widget_and_it_cannot_be_deleted(client: Any, alpha: Any) -> None:
    nps = Survey.objects.get(shop=alpha, key="nps")
    recommend = Question.objects.get(survey=nps, key="recommend")
    client.post(URL, {"action": "activate", "survey": nps.pk, "active": "1"})
    response = client.post(URL, {"action": "question_edit", "survey": nps.pk, "question": recommend.pk,
                                 "text_en": "Would you tell a friend about us?", "text_he": "תספרו לחבר?"})
    assert response.status_code == 302
    assert _widget_surveys(client, alpha)[0]["questions"][0]["text"] == "Would you tell a friend about us?"
    refused = client.post(URL, {"action": "question_delete", "survey": nps.pk, "question": recommend.pk})
    assert refused.status_code == 409
    assert Question.objects.filter(pk=recommend.pk).exists()


def test_the_reward_for_answering_is_what_the_widget_offers(client: Any, alpha: Any) -> None:
    nps = Survey.objects.get(shop=alpha, key="nps")
    client.post(URL, {"action": "activate", "survey": nps.pk, "active": "1"})
    response = client.post(URL, {"action": "reward", "is_enabled": "on", "points": "35"})
    assert response.status_code == 302
    assert _widget_surveys(client, alpha)[0]["points"] == 35
    bad = client.post(URL, {"action": "reward", "is_enabled": "on", "points": "-5"})
    assert bad.status_code == 400
    assert _widget_surveys(client, alpha)[0]["points"] == 35
    client.post(URL, {"action": "reward", "points": "35"})
    assert _widget_surveys(client, alpha)[0]["points"] == 0


def test_another_shops_survey_is_not_found(client: Any, alpha: Any, two_shops: Any) -> None:
    foreign = Survey.objects.get(shop=two_shops[1], key="nps")
    response = client.post(URL, {"action": "activate", "survey": foreign.pk, "active": "1"})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.is_active is False
    question = Question.objects.filter(survey=foreign).first()
    response = client.post(URL, {"action": "question_edit", "survey": foreign.pk, "question": question.pk,
                                 "text_en": "Mine"})
    assert response.status_code == 404
