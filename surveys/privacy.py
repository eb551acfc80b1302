"""Survey answers and zero-party profiles in the platform's privacy requests: a redacted
customer's free text, choices, dates and profile are erased (scores stay, anonymous, for NPS);
a data request lists every answer."""

from typing import Any

from commerce.models import Customer, Shop
from surveys.models import Answer, CustomerProfile, Response


def on_customer_redacted(sender: Any, *, shop: Shop, customer_ids: list[int], **kwargs: Any) -> None:
    Answer.objects.filter(shop=shop, response__customer_id__in=customer_ids).update(text="", choices=[], date=None)
    CustomerProfile.objects.filter(shop=shop, customer_id__in=customer_ids).delete()


def export(shop: Shop, customer: Customer) -> dict[str, Any]:
    responses = (Response.objects.filter(shop=shop, customer=customer).select_related("survey", "order")
                 .prefetch_related("answers__question").order_by("submitted_at"))
    profile = CustomerProfile.objects.filter(shop=shop, customer=customer).first()
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
