"""The emailed survey link: a server-rendered form in the shopper's language, and its answers."""

from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from retention_app.errors import ApplicationError
from surveys import selectors, services
from surveys.models import Channel, QuestionKind

TEMPLATE = "surveys/respond.html"


def survey_respond(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = services.survey_link_read(token=token)
    except services.LinkExpired as expired:
        language = _language(request, expired.target)
        with translation.override(language):
            return render(request, TEMPLATE, {"state": "expired"}, status=410)
    except signing.BadSignature:
        return render(request, TEMPLATE, {"state": "invalid"}, status=400)
    language = _language(request, target)
    with translation.override(language):
        context: dict[str, Any] = {"shop": target.shop}
        if selectors.already_answered(survey=target.survey, customer=target.customer, order=target.order):
            return render(request, TEMPLATE, {**context, "state": "already_answered"})
        if not target.survey.is_active:
            return render(request, TEMPLATE, {**context, "state": "closed"}, status=410)
        form = selectors.survey_form(survey=target.survey, language=language)
        if request.method != "POST":
            return render(request, TEMPLATE, {**context, "state": "form", "form": _filled(form, {}, {})})
        answers = _answers(request, form)
        try:
            submitted = services.response_submit(survey=target.survey, customer=target.customer, order=target.order,
                                                 answers=answers, channel=Channel.EMAIL)
        except ApplicationError as error:
            if error.code == "survey_closed":
                return render(request, TEMPLATE, {**context, "state": "closed"}, status=410)
            errors = error.extra.get("fields", {})
            return render(request, TEMPLATE, {**context, "state": "form", "form": _filled(form, answers, errors),
                                              "has_errors": bool(errors)}, status=400)
        return render(request, TEMPLATE, {**context, "state": "thanks", "points": submitted.points})


def _language(request: HttpRequest, target: services.LinkTarget | None) -> str:
    if target is None:
        return translation.get_language() or "en"
    return selectors.language_pick(request.GET.get("lang"), customer=target.customer, shop=target.shop)


def _answers(request: HttpRequest, form: dict[str, Any]) -> dict[str, Any]:
    """The posted fields by question key (several values for a multiple choice)."""
    answers: dict[str, Any] = {}
    for question in form["questions"]:
        if question["kind"] == QuestionKind.CHOICE and question["multiple"]:
            values = request.POST.getlist(question["key"])
            if values:
                answers[question["key"]] = values
        elif question["key"] in request.POST:
            answers[question["key"]] = request.POST[question["key"]]
    return answers


def _filled(form: dict[str, Any], answers: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The form with what the shopper entered and the error of each question, ready to render."""
    questions = []
    for question in form["questions"]:
        value = answers.get(question["key"])
        picked = value if isinstance(value, list) else [value]
        options: list[dict[str, Any]] = []
        if question["kind"] == QuestionKind.SCORE:
            options = [{"value": str(score), "label": str(score), "checked": str(score) in picked}
                       for score in range(11)]
        elif question["kind"] == QuestionKind.CHOICE:
            options = [{**choice, "checked": choice["value"] in picked} for choice in question["choices"]]
        questions.append({**question, "value": value if isinstance(value, str) else "", "options": options,
                          "error": errors.get(question["key"], "")})
    return {**form, "questions": questions}
