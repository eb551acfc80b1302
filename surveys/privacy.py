"""Surveys' part in privacy requests (see ``commerce.privacy``): a redacted customer's free text,
choices, dates and zero-party profile are erased (scores and yes/no stay, anonymous, for NPS);
a data request lists every answer; ``shop/redact`` deletes the shop's surveys and answers."""

from typing import Any

from commerce.models import Shop
from commerce.privacy import DataSubject, PrivacyParticipant
from surveys.models import Answer, CustomerProfile, Question, Response, Survey


def erase_customer(*, subject: DataSubject) -> None:
    shop, customer_ids = subject.shop, subject.customer_ids
    Answer.objects.filter(shop=shop, response__customer_id__in=customer_ids).update(text="", choices=[], date=None)
    CustomerProfile.objects.filter(shop=shop, customer_id__in=customer_ids).delete()


def erase_shop(*, shop: Shop) -> None:
    for model in (Answer, Response, CustomerProfile, Question, Survey):
        model._default_manager.filter(shop=shop).delete()


def export(*, subject: DataSubject) -> dict[str, Any]:
    responses = (Response.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids)
                 .select_related("survey", "order").prefetch_related("answers__question").order_by("submitted_at"))
    profile = CustomerProfile.objects.filter(shop=subject.shop, customer_id__in=subject.customer_ids).first()
    return {
        "responses": [
            {"survey": response.survey.key, "order": response.order.platform_id if response.order else None,
             "submitted_at": response.submitted_at.isoformat(),
             "answers": {answer.question.key: {"score": answer.score, "yes_no": answer.yes_no,
                                               "choices": answer.choices, "text": answer.text,
                                               "date": answer.date.isoformat() if answer.date else None}
                         for answer in response.answers.all()}}
            for response in responses
        ],
        "profile": None if profile is None else {"interests": profile.interests, "preferences": profile.preferences},
    }


SURVEYS = PrivacyParticipant(
    name="surveys",
    erase_customer=erase_customer,
    erase_shop=erase_shop,
    export=export,
    personal_fields=(
        "surveys.Answer.text", "surveys.Answer.choices", "surveys.Answer.date",
        "surveys.CustomerProfile.interests", "surveys.CustomerProfile.preferences",
    ),
    not_personal={
        "surveys.Survey.title": "the survey's title, as the merchant wrote it",
        "surveys.Question.text": "the question, as the merchant wrote it",
        "surveys.Question.choices": "the choices offered, as the merchant wrote them",
    },
)
