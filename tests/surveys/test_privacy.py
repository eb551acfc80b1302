"""Survey answers and profiles take part in the platform's privacy requests."""

from commerce.selectors import customer_data_export
from commerce.services import customer_redact
from surveys.models import Answer, CustomerProfile
from surveys.services import response_submit


def answer_both(surveys, customer):
    response_submit(survey=surveys["nps"], customer=customer, channel="widget",
                    answers={"recommend": 9, "reason": "Dana loves the blue teapot"})
    response_submit(survey=surveys["zero_party"], customer=customer, channel="widget",
                    answers={"interests": [surveys["zero_party"].questions.get(key="interests").choices[0]["value"]]})


def test_data_request_lists_the_customers_answers_and_profile(surveys, customer):
    answer_both(surveys, customer)
    exported = customer_data_export(shop=customer.shop, platform_id=customer.platform_id)
    responses = exported["surveys"]["responses"]
    assert {r["survey"] for r in responses} == {"nps", "zero_party"}
    nps = next(r for r in responses if r["survey"] == "nps")
    assert nps["answers"]["reason"]["text"] == "Dana loves the blue teapot"
    assert nps["answers"]["recommend"]["score"] == 9
    assert exported["surveys"]["profile"]["interests"]


def test_redaction_erases_free_text_and_profile_but_keeps_the_anonymous_score(surveys, customer):
    answer_both(surveys, customer)
    customer_redact(shop=customer.shop, platform_id=customer.platform_id, order_platform_ids=[])
    assert not Answer.objects.exclude(text="").exists()
    assert not Answer.objects.exclude(choices=[]).exists()
    assert not CustomerProfile.objects.exists()
    assert list(Answer.objects.exclude(score=None).values_list("score", flat=True)) == [9]
