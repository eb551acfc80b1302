"""Survey reads: NPS and its trend, per-survey results, and what a shopper may answer.

NPS = % promoters (9–10) − % detractors (0–6), over the answers to the score question of the
shop's NPS surveys.  Date ranges are ``datetime.date`` pairs, both ends included, in the shop's
time zone.
"""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from commerce.models import Customer, Order, Shop
from loyalty.models import Program, RuleKind
from loyalty.services.program import rule_for
from surveys.models import Answer, Question, QuestionKind, Response, Survey, SurveyKind
from surveys.presets import PRESETS

LANGUAGES = ("en", "he", "fa")
FREE_TEXT_LIMIT = 200
_COUNTS = {
    "promoters": Count("pk", filter=Q(score__gte=9)),
    "passives": Count("pk", filter=Q(score__in=(7, 8))),
    "detractors": Count("pk", filter=Q(score__lte=6)),
}


def nps_score(*, promoters: int, passives: int, detractors: int) -> Decimal | None:
    responses = promoters + passives + detractors
    if responses == 0:
        return None
    return (Decimal(100 * (promoters - detractors)) / responses).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    counts = {key: row.get(key) or 0 for key in _COUNTS}
    return {"score": nps_score(**counts), "responses": sum(counts.values()), **counts}


def _nps_answers(*, shop: Shop) -> QuerySet[Answer]:
    return Answer.objects.filter(shop=shop, question__kind=QuestionKind.SCORE,
                                 response__survey__kind=SurveyKind.NPS, score__isnull=False)


def _bounds(shop: Shop, start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(shop.timezone or "UTC")
    return datetime.combine(start, time.min, zone), datetime.combine(end + timedelta(days=1), time.min, zone)


def nps_summary(*, shop: Shop, start: date, end: date) -> dict[str, Any]:
    """``{"score": Decimal("30.00") or None, "responses", "promoters", "passives", "detractors"}``."""
    since, until = _bounds(shop, start, end)
    row = _nps_answers(shop=shop).filter(response__submitted_at__gte=since,
                                         response__submitted_at__lt=until).aggregate(**_COUNTS)
    return _summary(row)


def nps_by_month(*, shop: Shop, start: date, end: date) -> list[dict[str, Any]]:
    """One entry per calendar month touched by the range (months without answers included, with
    ``score`` None): ``{"month": date(2026, 3, 1), "score", "responses", ...}``."""
    zone = ZoneInfo(shop.timezone or "UTC")
    since, until = _bounds(shop, start, end)
    rows = (_nps_answers(shop=shop).filter(response__submitted_at__gte=since, response__submitted_at__lt=until)
            .annotate(month=TruncMonth("response__submitted_at", tzinfo=zone))
            .values("month").annotate(**_COUNTS).order_by("month"))
    by_month: dict[date, dict[str, Any]] = {_as_date(row["month"]): dict(row) for row in rows}
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append({"month": month, **_summary(by_month.get(month, {}))})
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def survey_results(*, survey: Survey) -> dict[str, Any]:
    """Per question: how many answered and, by kind, the score distribution and average (with the
    NPS for an NPS survey), yes/no counts, choice counts, or the latest free-text answers.
    Dates (birthdays) are counted, never listed."""
    questions = list(survey.questions.all())
    answers = Answer.objects.filter(shop_id=survey.shop_id, response__survey=survey)
    results = []
    for question in questions:
        mine = answers.filter(question=question)
        result: dict[str, Any] = {"key": question.key, "kind": question.kind, "text": question.text,
                                  "answered": mine.count()}
        if question.kind == QuestionKind.SCORE:
            result.update(_score_results(mine, is_nps=survey.kind == SurveyKind.NPS))
        elif question.kind == QuestionKind.YES_NO:
            result.update(mine.aggregate(yes=Count("pk", filter=Q(yes_no=True)),
                                         no=Count("pk", filter=Q(yes_no=False))))
        elif question.kind == QuestionKind.CHOICE:
            counts = {choice["value"]: 0 for choice in question.choices}
            for picked in mine.values_list("choices", flat=True):
                for value in picked:
                    if value in counts:
                        counts[value] += 1
            result["counts"] = counts
        elif question.kind == QuestionKind.TEXT:
            result["texts"] = [{"text": text, "submitted_at": at} for text, at in
                               mine.order_by("-response__submitted_at").values_list("text", "response__submitted_at")
                               [:FREE_TEXT_LIMIT]]
        results.append(result)
    return {"responses": Response.objects.filter(shop_id=survey.shop_id, survey=survey).count(),
            "questions": results}


def _score_results(answers: QuerySet[Answer], *, is_nps: bool) -> dict[str, Any]:
    distribution = {score: 0 for score in range(11)}
    for score, count in answers.filter(score__isnull=False).values_list("score").annotate(count=Count("pk")):
        distribution[int(score or 0)] = count
    average = answers.aggregate(average=Avg("score"))["average"]
    result: dict[str, Any] = {
        "distribution": distribution,
        "average": None if average is None else Decimal(str(average)).quantize(Decimal("0.01"), ROUND_HALF_UP),
    }
    if is_nps:
        result["nps"] = _summary(answers.aggregate(**_COUNTS))
    return result


# --- the shopper's side ----------------------------------------------------------------------

def language_pick(requested: str | None, *, customer: Customer | None = None, shop: Shop | None = None) -> str:
    """The first of the requested locale, the customer's, the shop's that we speak; else English."""
    for candidate in (requested, customer.locale if customer else "", shop.locale if shop else ""):
        code = (candidate or "").split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def _text(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def survey_form(*, survey: Survey, language: str) -> dict[str, Any]:
    """A survey as a shopper sees it, in one language."""
    return {
        "id": survey.pk,
        "key": survey.key,
        "kind": survey.kind,
        "title": _text(survey.title, language),
        "questions": [
            {"key": question.key, "kind": question.kind, "text": _text(question.text, language),
             "required": question.is_required, "multiple": question.is_multiple,
             "choices": [{"value": choice["value"], "label": _text(choice["label"], language)}
                         for choice in question.choices]}
            for question in survey.questions.all()
        ],
    }


def survey_list(*, shop: Shop) -> list[Survey]:
    """The shop's surveys, oldest first (the presets, created at install, come first)."""
    return list(Survey.objects.filter(shop=shop).order_by("pk"))


def survey_question(*, shop: Shop, survey_id: int, question_id: int) -> Question | None:
    """One of the shop's questions, with its survey."""
    return Question.objects.filter(shop=shop, survey_id=survey_id, pk=question_id).select_related("survey").first()


def question_is_preset(question: Question) -> bool:
    """A question the survey came with (the reports are built on it): reworded, never deleted."""
    preset = PRESETS.get(question.survey.key)
    return preset is not None and any(item["key"] == question.key for item in preset["questions"])


def survey_response_counts(*, shop: Shop) -> dict[int, int]:
    """How many responses each of the shop's surveys has, by survey id."""
    return dict(Response.objects.filter(shop=shop).values("survey_id").annotate(count=Count("pk"))
                .values_list("survey_id", "count"))


def question_answer_counts(*, shop: Shop) -> dict[int, int]:
    """How many answers each of the shop's questions has, by question id."""
    return dict(Answer.objects.filter(shop=shop).values("question_id").annotate(count=Count("pk"))
                .values_list("question_id", "count"))


def shopper_customer(*, shop: Shop, customer_platform_id: str) -> Customer | None:
    if not customer_platform_id:
        return None
    return Customer.objects.filter(shop=shop, platform_id=customer_platform_id, is_deleted=False).first()


def shopper_survey(*, shop: Shop, survey_id: int) -> Survey | None:
    """The shop's survey if it is switched on (what the widget may answer)."""
    return Survey.objects.filter(shop=shop, pk=survey_id, is_active=True).first()


def shopper_order(*, customer: Customer, platform_id: str) -> Order | None:
    return Order.objects.filter(shop_id=customer.shop_id, customer=customer, platform_id=platform_id).first()


def already_answered(*, survey: Survey, customer: Customer, order: Order | None = None) -> bool:
    return Response.objects.filter(shop_id=survey.shop_id, survey=survey, customer=customer, order=order).exists()


def shopper_surveys(*, shop: Shop, customer: Customer, language: str) -> list[dict[str, Any]]:
    """The active surveys the shopper has not answered yet (answers not tied to an order), with the
    points answering earns when the loyalty rule is on."""
    answered = Response.objects.filter(shop=shop, customer=customer, order__isnull=True).values("survey_id")
    surveys = (Survey.objects.filter(shop=shop, is_active=True).exclude(pk__in=answered)
               .prefetch_related("questions").order_by("pk"))
    rule = rule_for(shop=shop, kind=RuleKind.SURVEY)
    points = rule.points if rule is not None and Program.objects.filter(shop=shop, is_enabled=True).exists() else 0
    return [{**survey_form(survey=survey, language=language), "points": points} for survey in surveys]
