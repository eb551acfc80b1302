"""Survey settings: which surveys are on, their titles and questions (the merchant's own ones
added, any reworded), and the points for answering.

Every form posts ``action`` (``activate``, ``title``, ``question_add``, ``question_edit``,
``question_delete``, ``reward``) with the ``survey`` and ``question`` ids it is about; the
services (``surveys.services``, ``loyalty.services.program.rule_update``) decide.  A form with
errors is drawn again, filled in, beside the others (status 400)."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.settings_pages.surveys_forms import QuestionForm, SurveyRewardForm, SurveyTitleForm
from dashboard.views import render_page
from loyalty.models import EarningRule, RuleKind
from loyalty.selectors import program_get
from loyalty.services.program import DEFAULT_RULE_POINTS, rule_update
from retention_app.errors import ApplicationError
from surveys import selectors, services
from surveys.models import Survey

VIEW = "dashboard:settings_surveys"
TEMPLATE = "dashboard/settings/surveys.html"


def _in_language(texts: Any) -> str:
    if not isinstance(texts, dict):
        return str(texts or "")
    language = (translation.get_language() or "en").split("-")[0]
    return str(texts.get(language) or texts.get("en") or next(iter(texts.values()), ""))


def _id(value: str | None) -> int:
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 18:
        raise ApplicationError(_("Not found."), status=404, code="not_found")
    return int(text)


def _reward_rule(access: DashboardAccess) -> EarningRule:
    """The shop's survey rule, or its default (unsaved: a read writes nothing)."""
    return (EarningRule.objects.filter(shop=access.shop, kind=RuleKind.SURVEY).first()
            or EarningRule(shop=access.shop, kind=RuleKind.SURVEY, points=DEFAULT_RULE_POINTS[RuleKind.SURVEY]))


def _page(request: HttpRequest, access: DashboardAccess, *, bound: tuple[str, forms.Form] | None = None,
          status: int = 200, problem: str = "") -> HttpResponse:
    def form_for(key: str, make: Any) -> forms.Form:
        if bound is not None and bound[0] == key:
            return bound[1]
        return make()

    action = form_action(request, access, VIEW)
    responses = selectors.survey_response_counts(shop=access.shop)
    answers = selectors.question_answer_counts(shop=access.shop)
    blocks = []
    for survey in Survey.objects.filter(shop=access.shop).prefetch_related("questions").order_by("pk"):
        questions = []
        for question in survey.questions.all():
            question.survey = survey
            preset = selectors.question_is_preset(question)
            key = f"question-{question.pk}"
            questions.append({
                "question": question, "text": _in_language(question.text), "preset": preset,
                "kind": question.get_kind_display(), "answers": formatting.number(answers.get(question.pk, 0), 0),
                "answer_count": answers.get(question.pk, 0), "open": bound is not None and bound[0] == key,
                "form": form_for(key, lambda q=question, k=key, p=preset: QuestionForm(
                    initial=QuestionForm.initial_for(q), kind=q.kind, preset=p,
                    multiple_fixed=bool(q.profile_field), auto_id=f"{k}-%s")),
            })
        title_key, add_key = f"title-{survey.pk}", f"add-{survey.pk}"
        blocks.append({
            "survey": survey, "title": _in_language(survey.title), "questions": questions,
            "responses": formatting.number(responses.get(survey.pk, 0), 0),
            "title_open": bound is not None and bound[0] == title_key,
            "add_open": bound is not None and bound[0] == add_key,
            "title_form": form_for(title_key, lambda s=survey, k=title_key: SurveyTitleForm(
                initial={f"title_{language}": s.title.get(language, "") for language in services.LANGUAGES},
                auto_id=f"{k}-%s")),
            "add_form": form_for(add_key, lambda k=add_key: QuestionForm(auto_id=f"{k}-%s")),
        })
    rule = _reward_rule(access)
    reward_form = form_for("reward", lambda: SurveyRewardForm(
        initial={"points": rule.points, "is_enabled": rule.is_enabled}, auto_id="reward-%s"))
    response = render_page(
        request, access, view_name=VIEW, title=_("Survey settings"), template=TEMPLATE,
        surveys=blocks, reward_form=reward_form, action=action, problem=problem,
        program_enabled=program_get(shop=access.shop).is_enabled,
        report_url=access.url("dashboard:surveys"), program_url=_url_or_empty(access, "dashboard:settings_program"))
    response.status_code = status
    return response


def _url_or_empty(access: DashboardAccess, name: str) -> str:
    try:
        return access.url(name)
    except NoReverseMatch:  # the page is not there (yet)
        return ""


def _field_of(error: ApplicationError, form: forms.Form, prefix: str) -> str | None:
    """The form field a service's error is about (``extra["field"]``: a language, ``choices``, ``kind``)."""
    field = str(error.extra.get("field", ""))
    if field == "choices":
        field = "en"
        prefix = "choices"
    candidates = [f"{prefix}_{field}", field]
    return next((name for name in candidates if name in form.fields), None)


def _invalid(request: HttpRequest, access: DashboardAccess, key: str, form: forms.Form, error: Exception,
             prefix: str = "text") -> HttpResponse:
    if isinstance(error, ApplicationError):
        if error.status == 404:
            raise error
        form.add_error(_field_of(error, form, prefix), error.message)
    elif isinstance(error, ValidationError):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    return _page(request, access, bound=(key, form), status=400)


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_surveys(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method != "POST":
        return _page(request, access)
    action = request.POST.get("action", "")
    shop = access.shop
    if action == "reward":
        reward = SurveyRewardForm(request.POST, auto_id="reward-%s")
        if not reward.is_valid():
            return _page(request, access, bound=("reward", reward), status=400)
        try:
            rule_update(shop=shop, kind=RuleKind.SURVEY, changes=reward.cleaned_data)
        except (ApplicationError, ValidationError) as error:
            return _invalid(request, access, "reward", reward, error)
        return saved_redirect(access, VIEW)
    survey_id = _id(request.POST.get("survey"))
    if action == "activate":
        services.survey_activate(shop=shop, survey_id=survey_id, active=request.POST.get("active") == "1")
        return saved_redirect(access, VIEW)
    if action == "title":
        key = f"title-{survey_id}"
        title = SurveyTitleForm(request.POST, auto_id=f"{key}-%s")
        if not title.is_valid():
            return _page(request, access, bound=(key, title), status=400)
        try:
            services.survey_title_update(shop=shop, survey_id=survey_id, title=title.texts())
        except ApplicationError as error:
            return _invalid(request, access, key, title, error, prefix="title")
        return saved_redirect(access, VIEW)
    if action == "question_add":
        key = f"add-{survey_id}"
        added = QuestionForm(request.POST, auto_id=f"{key}-%s")
        if not added.is_valid():
            return _page(request, access, bound=(key, added), status=400)
        try:
            services.question_create(shop=shop, survey_id=survey_id, kind=added.cleaned_data["kind"],
                                     text=added.texts(), choices=added.choices(),
                                     is_required=added.cleaned_data.get("is_required", False),
                                     is_multiple=added.cleaned_data.get("is_multiple", False))
        except ApplicationError as error:
            return _invalid(request, access, key, added, error)
        return saved_redirect(access, VIEW)
    question = selectors.survey_question(shop=shop, survey_id=survey_id, question_id=_id(request.POST.get("question")))
    if question is None:
        raise ApplicationError(_("Not found."), status=404, code="not_found")
    if action == "question_delete":
        try:
            services.question_delete(shop=shop, survey_id=survey_id, question_id=question.pk)
        except ApplicationError as error:
            if error.status == 404:
                raise
            return _page(request, access, status=error.status, problem=error.message)
        return saved_redirect(access, VIEW)
    if action == "question_edit":
        key = f"question-{question.pk}"
        edited = QuestionForm(request.POST, kind=question.kind, preset=selectors.question_is_preset(question),
                              multiple_fixed=bool(question.profile_field), auto_id=f"{key}-%s")
        if not edited.is_valid():
            return _page(request, access, bound=(key, edited), status=400)
        try:
            services.question_update(shop=shop, survey_id=survey_id, question_id=question.pk, text=edited.texts(),
                                     choices=edited.choices(),
                                     is_required=edited.cleaned_data.get("is_required")
                                     if "is_required" in edited.fields else None,
                                     is_multiple=edited.cleaned_data.get("is_multiple")
                                     if "is_multiple" in edited.fields else None)
        except ApplicationError as error:
            return _invalid(request, access, key, edited, error)
        return saved_redirect(access, VIEW)
    raise ApplicationError(_("Unknown action."), status=400)
