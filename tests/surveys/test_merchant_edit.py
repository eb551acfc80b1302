"""The merchant's own questions: added, reworded, deleted; the presets' stay."""

import pytest

from retention_app.errors import ApplicationError
from surveys.models import Answer, Question
from surveys.selectors import survey_form
from surveys.services import (
    question_create,
    question_delete,
    question_update,
    response_submit,
    survey_title_update,
)
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

OPTIONS = [{"label": {"en": "Instagram", "he": "אינסטגרם"}}, {"label": {"en": "A friend", "fa": "یک دوست"}}]


def test_a_choice_question_is_added_at_the_end_and_answered_in_the_shoppers_language(shop, surveys, customer):
    # given
    nps = surveys["nps"]
    # when
    question = question_create(shop=shop, survey_id=nps.pk, kind="choice", choices=OPTIONS,
                               text={"en": "Where did you hear of us?", "he": "איפה שמעתם עלינו?", "fa": " "})
    # then
    assert (question.key, question.position, question.text) == (
        "where-did-you-hear-of-us", 2, {"en": "Where did you hear of us?", "he": "איפה שמעתם עלינו?"})
    assert question.choices == [{"value": "instagram", "label": {"en": "Instagram", "he": "אינסטגרם"}},
                                {"value": "a-friend", "label": {"en": "A friend", "fa": "یک دوست"}}]
    form = survey_form(survey=nps, language="he")
    assert form["questions"][2]["text"] == "איפה שמעתם עלינו?"
    assert [choice["label"] for choice in form["questions"][2]["choices"]] == ["אינסטגרם", "A friend"]
    submitted = response_submit(survey=nps, customer=customer, channel="widget",
                                answers={"recommend": 9, "where-did-you-hear-of-us": "a-friend"})
    assert Answer.objects.get(response=submitted.response, question=question).choices == ["a-friend"]


def test_rewording_an_option_keeps_its_answers(shop, surveys, customer):
    nps = surveys["nps"]
    question = question_create(shop=shop, survey_id=nps.pk, kind="choice", choices=OPTIONS, text={"en": "Where?"})
    response_submit(survey=nps, customer=customer, channel="widget", answers={"recommend": 9, "where": "instagram"})
    updated = question_update(shop=shop, survey_id=nps.pk, question_id=question.pk, text={"en": "Where from?"},
                              choices=[{"label": {"en": "Instagram or TikTok"}}, *OPTIONS[1:],
                                       {"label": {"en": "Instagram"}}])
    assert [choice["value"] for choice in updated.choices] == ["instagram", "a-friend", "instagram-2"]
    assert updated.text == {"en": "Where from?"}


@pytest.mark.parametrize(("text", "choices", "kind", "code"), [
    ({"en": "", "he": "  "}, None, "text", "invalid_text"),
    ({"en": "x" * 301}, None, "text", "invalid_text"),
    ({"en": "Birthday?"}, None, "date", "invalid_kind"),
    ({"en": "Pick"}, [{"label": {"en": "Only one"}}], "choice", "invalid_choices"),
    ({"en": "Pick"}, [{"label": {"en": "A"}}, {"label": {}}], "choice", "invalid_text"),
])
def test_a_bad_question_is_refused_and_nothing_is_stored(shop, surveys, text, choices, kind, code):
    before = Question.objects.count()
    with pytest.raises(ApplicationError) as raised:
        question_create(shop=shop, survey_id=surveys["nps"].pk, kind=kind, text=text, choices=choices)
    assert (raised.value.status, raised.value.code) == (400, code)
    assert Question.objects.count() == before


def test_deleting_a_custom_question_deletes_its_answers_and_preset_questions_stay(shop, surveys, customer):
    nps = surveys["nps"]
    question = question_create(shop=shop, survey_id=nps.pk, kind="text", text={"en": "Anything else?"})
    response_submit(survey=nps, customer=customer, channel="widget", answers={"recommend": 3, "anything-else": "no"})
    assert question_delete(shop=shop, survey_id=nps.pk, question_id=question.pk) == 1
    assert not Question.objects.filter(pk=question.pk).exists()
    preset = Question.objects.get(survey=nps, key="recommend")
    with pytest.raises(ApplicationError) as raised:
        question_delete(shop=shop, survey_id=nps.pk, question_id=preset.pk)
    assert raised.value.code == "preset_question"
    assert Answer.objects.filter(question=preset).count() == 1


def test_another_shops_survey_or_question_is_not_found(shop, surveys):
    other = ShopFactory(domain="other-survey.myshopify.com")
    foreign = Question.objects.filter(shop=other).first()
    with pytest.raises(ApplicationError) as raised:
        question_update(shop=shop, survey_id=foreign.survey_id, question_id=foreign.pk, text={"en": "Mine now"})
    assert raised.value.status == 404
    with pytest.raises(ApplicationError):
        survey_title_update(shop=shop, survey_id=foreign.survey_id, title={"en": "Mine"})
    foreign.refresh_from_db()
    assert foreign.text["en"] != "Mine now"


def test_the_merchant_api_adds_rewords_and_deletes_questions_through_the_same_rules(client, shop, surveys):
    from tests.integrations.test_oauth import session_token

    auth = {"Authorization": f"Bearer {session_token(shop.domain)}"}
    nps = surveys["nps"]
    created = client.post(f"/api/surveys/{nps.pk}/questions", {"kind": "choice", "text": {"en": "Where?"},
                          "choices": [{"label": {"en": "Shop"}}, {"label": {"en": "Web"}}]},
                          content_type="application/json", headers=auth)
    assert created.status_code == 201, created.content
    assert [choice["value"] for choice in created.json()["choices"]] == ["shop", "web"]
    question_id = created.json()["id"]
    refused = client.post(f"/api/surveys/{nps.pk}/questions", {"kind": "text", "text": {"en": ""}},
                          content_type="application/json", headers=auth)
    assert refused.status_code == 400
    reworded = client.patch(f"/api/surveys/{nps.pk}/questions/{question_id}", {"text": {"he": "איפה?"}},
                            content_type="application/json", headers=auth)
    assert reworded.status_code == 200 and reworded.json()["text"] == {"he": "איפה?"}
    titled = client.patch(f"/api/surveys/{nps.pk}", {"title": {"en": "Tell us"}}, content_type="application/json",
                          headers=auth)
    assert titled.json()["title"] == {"en": "Tell us"}
    assert client.delete(f"/api/surveys/{nps.pk}/questions/{question_id}", headers=auth).status_code == 204
    preset = Question.objects.get(survey=nps, key="recommend")
    assert client.delete(f"/api/surveys/{nps.pk}/questions/{preset.pk}", headers=auth).status_code == 409
