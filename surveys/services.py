"""Survey writes: the presets, answering (validated, once), and the signed emailed link."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from commerce.models import Customer, Order, Shop
from loyalty.models import Account
from loyalty.services.actions import survey_answered
from retention_app.errors import ApplicationError
from surveys.models import Answer, Channel, CustomerProfile, ProfileField, Question, QuestionKind, Response, Survey
from surveys.presets import PRESETS
from surveys.selectors import question_is_preset

LINK_SALT = "surveys.link"
LINK_MAX_AGE = timedelta(days=30)
TEXT_MAX_LENGTH = 2000
EARLIEST_BIRTHDAY = date(1900, 1, 1)


def survey_presets_create(*, shop: Shop) -> int:
    """Create the preset surveys the shop does not have yet, switched off until the merchant turns
    them on (at install; idempotent).  Returns how many were created; reads never create them."""
    existing = set(Survey.objects.filter(shop=shop).values_list("key", flat=True))
    created = 0
    for key, preset in PRESETS.items():
        if key in existing:
            continue
        try:
            with transaction.atomic():
                survey = Survey.objects.create(shop=shop, key=key, kind=preset["kind"], title=preset["title"])
                Question.objects.bulk_create([
                    Question(shop=shop, survey=survey, position=position, key=question["key"],
                             kind=question["kind"], text=question["text"], choices=question.get("choices", []),
                             is_required=question.get("is_required", False),
                             is_multiple=question.get("is_multiple", False),
                             profile_field=question.get("profile_field", ProfileField.NONE))
                    for position, question in enumerate(preset["questions"])
                ])
                created += 1
        except IntegrityError:  # created concurrently
            continue
    return created


def survey_activate(*, shop: Shop, survey_id: int, active: bool = True) -> Survey:
    survey = Survey.objects.filter(shop=shop, pk=survey_id).first()
    if survey is None:
        raise ApplicationError("survey not found", status=404)
    if survey.is_active != active:
        survey.is_active = active
        survey.save(update_fields=["is_active", "updated_at"])
    return survey


# --- answering -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submitted:
    response: Response
    created: bool
    points: int = 0


def response_submit(*, survey: Survey, customer: Customer, order: Order | None = None,
                    answers: Mapping[str, Any], channel: str) -> Submitted:
    """Record a customer's answers once.

    ``answers`` maps question keys to values as a form or JSON sends them ("7" or 7, "yes" or
    true, a list for multiple choices, "YYYY-MM-DD").  Every answer is checked before anything is
    written: one bad answer stores nothing.  A second submit (same survey, customer and order)
    returns the first response unchanged.  Points come once per survey through the loyalty rule.
    """
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if customer.shop_id != survey.shop_id or (order is not None and (
            order.shop_id != survey.shop_id or order.customer_id != customer.pk)):
        raise ApplicationError("this survey is not for this customer", status=404)
    existing = _existing(survey=survey, customer=customer, order=order)
    if existing is not None:
        return Submitted(response=existing, created=False)
    if not survey.is_active:
        raise ApplicationError(_("This survey is closed."), status=409, code="survey_closed")
    questions = list(survey.questions.all())
    values = answers_validate(questions=questions, answers=answers)
    try:
        with transaction.atomic():
            response = Response.objects.create(shop_id=survey.shop_id, survey=survey, customer=customer, order=order,
                                               channel=channel, language=(get_language() or "")[:8],
                                               submitted_at=timezone.now())
            Answer.objects.bulk_create([Answer(shop_id=survey.shop_id, response=response, question=question, **value)
                                        for question, value in values])
            _profile_store(customer=customer, values=values)
            points = _points_award(survey=survey, customer=customer)
    except IntegrityError:  # the same answers submitted twice at the same moment
        existing = _existing(survey=survey, customer=customer, order=order)
        if existing is None:
            raise
        return Submitted(response=existing, created=False)
    return Submitted(response=response, created=True, points=points)


def _existing(*, survey: Survey, customer: Customer, order: Order | None) -> Response | None:
    return Response.objects.filter(shop_id=survey.shop_id, survey=survey, customer=customer, order=order).first()


def answers_validate(*, questions: list[Question], answers: Mapping[str, Any]) -> list[tuple[Question, dict]]:
    """Each answer as the ``Answer`` columns it sets; ``ApplicationError`` (400) naming every bad
    answer otherwise."""
    by_key = {question.key: question for question in questions}
    errors: dict[str, str] = {}
    for key in answers:
        if key not in by_key:
            errors[str(key)] = _("This question is not part of the survey.")
    values: list[tuple[Question, dict]] = []
    for question in questions:
        raw = answers.get(question.key)
        if _blank(raw):
            if question.is_required:
                errors[question.key] = _("Please answer this question.")
            continue
        try:
            values.append((question, _typed(question, raw)))
        except ValueError as error:
            errors[question.key] = str(error)
    if errors:
        raise ApplicationError("some answers are not valid", status=400, code="invalid_answers",
                               extra={"fields": errors})
    return values


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, list | tuple) and not raw)


def _typed(question: Question, raw: Any) -> dict[str, Any]:
    if question.kind == QuestionKind.SCORE:
        return {"score": _score(raw)}
    if question.kind == QuestionKind.YES_NO:
        return {"yes_no": _yes_no(raw)}
    if question.kind == QuestionKind.CHOICE:
        return {"choices": _choices(question, raw)}
    if question.kind == QuestionKind.TEXT:
        if not isinstance(raw, str):
            raise ValueError(_("Please write your answer as text."))
        if len(raw.strip()) > TEXT_MAX_LENGTH:
            raise ValueError(_("Please keep your answer under %(limit)d characters.") % {"limit": TEXT_MAX_LENGTH})
        return {"text": raw.strip()}
    if question.kind == QuestionKind.DATE:
        return {"date": _date(question, raw)}
    raise ValueError(_("This question cannot be answered."))


def _score(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(_("Please choose a score from 0 to 10."))
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not 0 <= raw <= 10:
        raise ValueError(_("Please choose a score from 0 to 10."))
    return raw


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"yes", "true", "1"}:
        return True
    if text in {"no", "false", "0"}:
        return False
    raise ValueError(_("Please answer yes or no."))


def _choices(question: Question, raw: Any) -> list[str]:
    picked = [raw] if isinstance(raw, str) else raw
    if not isinstance(picked, list | tuple) or not all(isinstance(value, str) for value in picked):
        raise ValueError(_("Please choose one of the options."))
    if len(picked) > 1 and not question.is_multiple:
        raise ValueError(_("Please choose only one option."))
    allowed = [choice["value"] for choice in question.choices]
    if any(value not in allowed for value in picked):
        raise ValueError(_("Please choose one of the options."))
    return [value for value in allowed if value in picked]  # the survey's order, no duplicates


def _date(question: Question, raw: Any) -> date:
    if isinstance(raw, date):
        value = raw
    else:
        try:
            value = date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(_("Please enter a date as YYYY-MM-DD.")) from None
    if question.profile_field == ProfileField.BIRTHDAY and not EARLIEST_BIRTHDAY <= value <= timezone.now().date():
        raise ValueError(_("Please enter your real date of birth."))
    return value


def _profile_store(*, customer: Customer, values: list[tuple[Question, dict]]) -> None:
    """Zero-party answers: a birthday fills an empty ``Customer.birthday`` (never overwrites what the
    store or an earlier answer set); interests and preferences replace the profile's."""
    profile: dict[str, list[str]] = {}
    for question, value in values:
        if question.profile_field == ProfileField.BIRTHDAY:
            if Customer.objects.filter(pk=customer.pk, birthday__isnull=True).update(birthday=value["date"]):
                customer.birthday = value["date"]
        elif question.profile_field in (ProfileField.INTERESTS, ProfileField.PREFERENCES):
            profile[question.profile_field] = value["choices"]
    if profile:
        CustomerProfile.objects.update_or_create(shop_id=customer.shop_id, customer=customer, defaults=profile)


def _points_award(*, survey: Survey, customer: Customer) -> int:
    """The loyalty rule's points, once per survey, for customers who have a loyalty account."""
    account = Account.objects.filter(shop_id=survey.shop_id, customer=customer).select_related("shop").first()
    if account is None:
        return 0
    entry = survey_answered(account=account, survey_id=str(survey.pk))
    return entry.points if entry is not None else 0


# --- the emailed link ------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkTarget:
    shop: Shop
    customer: Customer
    survey: Survey
    order: Order | None


def survey_link(*, shop: Shop, customer: Customer, survey: Survey, order: Order | None = None) -> str:
    """An absolute, signed link to answer ``survey``; it expires after ``LINK_MAX_AGE``."""
    if customer.shop_id != shop.pk or survey.shop_id != shop.pk or (order is not None and order.shop_id != shop.pk):
        raise ApplicationError("the survey, customer and order must belong to the shop", status=400)
    token = signing.TimestampSigner(salt=LINK_SALT).sign_object(
        {"s": shop.pk, "c": customer.pk, "v": survey.pk, "o": order.pk if order is not None else None})
    return f"{settings.APP_URL}{reverse('surveys:respond', args=[token])}"


class LinkExpired(Exception):
    """The link was genuine but is too old; ``target`` says whose it was (for the page's language)."""

    def __init__(self, target: LinkTarget | None) -> None:
        super().__init__("the survey link has expired")
        self.target = target


def survey_link_read(*, token: str) -> LinkTarget:
    """The rows a link names.  ``signing.BadSignature`` for a forged or broken link (or rows that
    are gone), ``LinkExpired`` for a genuine one past its age."""
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        data = signer.unsign_object(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        try:
            expired = _target(signer.unsign_object(token))
        except signing.BadSignature:
            expired = None
        raise LinkExpired(expired) from None
    return _target(data)


def _target(data: Any) -> LinkTarget:
    try:
        shop_id, customer_id, survey_id = int(data["s"]), int(data["c"]), int(data["v"])
        order_id = int(data["o"]) if data.get("o") is not None else None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise signing.BadSignature("unexpected link data") from None
    shop = Shop.objects.filter(pk=shop_id).first()
    customer = Customer.objects.filter(shop=shop, pk=customer_id, is_deleted=False).select_related("shop").first()
    survey = Survey.objects.filter(shop=shop, pk=survey_id).first()
    order = Order.objects.filter(shop=shop, pk=order_id).first() if order_id is not None else None
    if shop is None or customer is None or survey is None or (order_id is not None and order is None):
        raise signing.BadSignature("the link names rows that do not exist")
    return LinkTarget(shop=shop, customer=customer, survey=survey, order=order)


# --- the merchant's edits ----------------------------------------------------------------------

#: The question kinds a merchant adds (a date only makes sense stored as a birthday: the presets').
CUSTOM_KINDS = (QuestionKind.SCORE, QuestionKind.YES_NO, QuestionKind.CHOICE, QuestionKind.TEXT)
LANGUAGES = ("en", "he", "fa")
QUESTION_TEXT_MAX_LENGTH = 300
CHOICE_LABEL_MAX_LENGTH = 100
MAX_CHOICES = 20
MAX_QUESTIONS = 20


def _survey_get(*, shop: Shop, survey_id: int) -> Survey:
    survey = Survey.objects.filter(shop=shop, pk=survey_id).first()
    if survey is None:
        raise ApplicationError("survey not found", status=404)
    return survey


def _question_get(*, shop: Shop, survey_id: int, question_id: int) -> Question:
    question = Question.objects.filter(shop=shop, survey_id=survey_id, pk=question_id).select_related("survey").first()
    if question is None:
        raise ApplicationError("question not found", status=404)
    return question


def _texts(texts: Mapping[str, Any], *, empty: str, limit: int) -> dict[str, str]:
    """A text per language (``{"en": …, "he": …, "fa": …}``), trimmed, at least one given
    (``empty`` says so otherwise)."""
    cleaned = {language: str(texts.get(language) or "").strip() for language in LANGUAGES}
    for language, text in cleaned.items():
        if len(text) > limit:
            raise ApplicationError(_("Keep each text under %(limit)d characters.") % {"limit": limit},
                                   status=400, code="invalid_text", extra={"field": language})
        if any(ord(char) < 32 for char in text):
            raise ApplicationError(_("Texts cannot hold control characters."), status=400, code="invalid_text",
                                   extra={"field": language})
    if not any(cleaned.values()):
        raise ApplicationError(empty, status=400, code="invalid_text", extra={"field": "en"})
    return {language: text for language, text in cleaned.items() if text}


def survey_title_update(*, shop: Shop, survey_id: int, title: Mapping[str, Any]) -> Survey:
    """The survey's title per language, as shoppers see it."""
    survey = _survey_get(shop=shop, survey_id=survey_id)
    survey.title = _texts(title, empty=_("Write the title in at least one language."),
                          limit=QUESTION_TEXT_MAX_LENGTH)
    survey.save(update_fields=["title", "updated_at"])
    return survey


def _choices_clean(choices: Any, *, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"value"?, "label": {"en": …}}]``: 2 to ``MAX_CHOICES`` options, each labelled in at least
    one language.  An option keeps the value of the previous option at its position (so rewording
    an option keeps its answers); a new one gets a value made from its label."""
    if not isinstance(choices, list | tuple) or not 2 <= len(choices) <= MAX_CHOICES:
        raise ApplicationError(_("A choice question needs 2 to %(limit)d options.") % {"limit": MAX_CHOICES},
                               status=400, code="invalid_choices", extra={"field": "choices"})
    cleaned: list[dict[str, Any]] = []
    used: set[str] = set()
    for position, choice in enumerate(choices):
        label = choice.get("label") if isinstance(choice, Mapping) else None
        if not isinstance(label, Mapping):
            raise ApplicationError(_("Each option needs a label."), status=400, code="invalid_choices",
                                   extra={"field": "choices"})
        try:
            labels = _texts(label, empty=_("Label each option in at least one language."),
                            limit=CHOICE_LABEL_MAX_LENGTH)
        except ApplicationError as error:
            error.extra["field"] = "choices"
            raise
        value = ""
        if position < len(previous):
            value = str(previous[position].get("value") or "")
        if not value or value in used:
            base = slugify(labels.get("en") or "")[:40] or f"option-{position + 1}"
            value, suffix = base, 2
            while value in used or any(value == str(item.get("value")) for item in previous[position + 1:]):
                value, suffix = f"{base}-{suffix}", suffix + 1
        used.add(value)
        cleaned.append({"value": value, "label": labels})
    return cleaned


def question_create(*, shop: Shop, survey_id: int, kind: str, text: Mapping[str, Any],
                    choices: Any = None, is_required: bool = False, is_multiple: bool = False) -> Question:
    """A merchant's own question at the end of the survey.  Kinds: ``CUSTOM_KINDS``."""
    survey = _survey_get(shop=shop, survey_id=survey_id)
    if kind not in CUSTOM_KINDS:
        raise ApplicationError(_("Choose a kind of question."), status=400, code="invalid_kind",
                               extra={"field": "kind"})
    texts = _texts(text, empty=_("Write the question in at least one language."),
                   limit=QUESTION_TEXT_MAX_LENGTH)
    options = _choices_clean(choices, previous=[]) if kind == QuestionKind.CHOICE else []
    with transaction.atomic():
        existing = list(Question.objects.select_for_update().filter(shop=shop, survey=survey)
                        .values_list("key", "position"))
        if len(existing) >= MAX_QUESTIONS:
            raise ApplicationError(_("A survey has at most %(limit)d questions.") % {"limit": MAX_QUESTIONS},
                                   status=409, code="too_many_questions")
        keys = {key for key, _position in existing}
        base = slugify(texts.get("en") or "")[:40] or "question"
        key, suffix = base, 2
        while key in keys:
            key, suffix = f"{base}-{suffix}", suffix + 1
        return Question.objects.create(
            shop=shop, survey=survey, key=key, kind=kind, text=texts, choices=options,
            position=max((position for _key, position in existing), default=-1) + 1,
            is_required=is_required, is_multiple=is_multiple and kind == QuestionKind.CHOICE)


def question_update(*, shop: Shop, survey_id: int, question_id: int, text: Mapping[str, Any],
                    choices: Any = None, is_required: bool | None = None,
                    is_multiple: bool | None = None) -> Question:
    """Reword a question (its kind stays: answers given are typed by it).  The presets' questions
    may be reworded too; their options keep their values."""
    question = _question_get(shop=shop, survey_id=survey_id, question_id=question_id)
    question.text = _texts(text, empty=_("Write the question in at least one language."),
                   limit=QUESTION_TEXT_MAX_LENGTH)
    fields = ["text", "updated_at"]
    if question.kind == QuestionKind.CHOICE and choices is not None:
        question.choices = _choices_clean(choices, previous=list(question.choices))
        fields.append("choices")
    if is_required is not None and not question_is_preset(question):
        question.is_required = is_required
        fields.append("is_required")
    if is_multiple is not None and question.kind == QuestionKind.CHOICE and not question.profile_field:
        question.is_multiple = is_multiple
        fields.append("is_multiple")
    question.save(update_fields=fields)
    return question


def question_delete(*, shop: Shop, survey_id: int, question_id: int) -> int:
    """Delete a merchant's own question with its answers (how many is returned); the presets'
    questions stay (the NPS and the reports are built on them)."""
    question = _question_get(shop=shop, survey_id=survey_id, question_id=question_id)
    if question_is_preset(question):
        raise ApplicationError(_("This question comes with the survey and cannot be deleted; you can reword it."),
                               status=409, code="preset_question")
    with transaction.atomic():
        answers, _rows = Answer.objects.filter(shop=shop, question=question).delete()
        question.delete()
    return answers
