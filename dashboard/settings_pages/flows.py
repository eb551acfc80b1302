"""Flow settings: the list of flows with their numbers (switch on / pause, create one on a store
event), and one flow's editor: its steps (wait, channel, message, conditions, SMS texts per
language with a live segment counter), a preview for a chosen customer and "apply to recent
history" with its dry-run figure first.

Every save goes through the services the merchant API calls (``campaigns.services.flows``): an
edit of the steps is a new version of the flow.  Step fields are named as the API's
(``delay_minutes``, ``action``, ``template``, ``conditions``: ``segment``, ``not_segment``,
``no_order_since_enrolment``; ``config``: ``discount_percent``, ``discount_hours``, ``texts``); the
delay is typed in the unit chosen next to it (``delay_unit``: minutes when absent)."""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from campaigns import selectors as campaign_selectors
from campaigns.models import Flow, FlowStep, StepAction
from campaigns.services import attribution, email, sms
from campaigns.services import flows as service
from commerce.selectors import customer_search
from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.labels import translated
from dashboard.views import render_page
from retention_app.errors import ApplicationError
from segments.selectors import segment_counts

LIST_VIEW = "dashboard:settings_flows"
FLOW_VIEW = "dashboard:settings_flow"
EMAIL_VIEW = "dashboard:settings_email"
LANGUAGES = ("en", "he", "fa")

TRIGGER_LABELS = {
    "order.paid": gettext_lazy("An order is paid"),
    "order.fulfilled": gettext_lazy("An order is fulfilled"),
    "loyalty.points_earned": gettext_lazy("The customer earns points"),
    "loyalty.tier_reached": gettext_lazy("The customer reaches a tier"),
    "loyalty.points_expiring": gettext_lazy("The customer's points are about to expire"),
    "loyalty.review_recorded": gettext_lazy("The customer writes a review"),
    "schedule:daily": gettext_lazy("A daily check (dates, last orders)"),
    "manual": gettext_lazy("You launch it"),
}
TEMPLATE_LABELS = {
    "anniversary": gettext_lazy("First-order anniversary"),
    "birthday": gettext_lazy("Birthday"),
    "bounce_back": gettext_lazy("Bounce-back offer"),
    "holiday": gettext_lazy("Holiday greeting"),
    "loyalty_points_earned": gettext_lazy("Points earned"),
    "loyalty_points_expiring": gettext_lazy("Points expiring"),
    "loyalty_tier_reached": gettext_lazy("Tier reached"),
    "order_thank_you": gettext_lazy("Order thank-you"),
    "replenishment": gettext_lazy("Replenishment reminder"),
    "review_request": gettext_lazy("Review request"),
    "review_reward": gettext_lazy("Thank you for your review"),
    "vip_early_access": gettext_lazy("VIP early access"),
    "winback": gettext_lazy("Win-back"),
    "upsell_sms": gettext_lazy("Post-purchase upsell"),
}
LANGUAGE_LABELS = {"en": gettext_lazy("English"), "he": gettext_lazy("Hebrew"), "fa": gettext_lazy("Persian")}
DELAY_UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}
DELAY_UNIT_CHOICES = [("minutes", gettext_lazy("minutes")), ("hours", gettext_lazy("hours")),
                      ("days", gettext_lazy("days"))]
DECISION_LABELS = {"send": gettext_lazy("Would send now"), "skip": gettext_lazy("Would skip"),
                   "defer": gettext_lazy("Would wait"), "exit": gettext_lazy("Would leave the flow")}


def _template_label(key: str) -> str:
    return str(TEMPLATE_LABELS.get(key, key.replace("_", " ")))


def _delay_label(minutes: int) -> str:
    for unit, factor in reversed(DELAY_UNITS.items()):
        if minutes and minutes % factor == 0:
            return formatting.number(minutes // factor, 0) + " " + str(dict(DELAY_UNIT_CHOICES)[unit])
    return _("at once")


# --- the list ------------------------------------------------------------------------------------

class FlowCreateForm(forms.Form):
    trigger = forms.ChoiceField(label=gettext_lazy("Starts when"))
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["trigger"].choices = [(key, TRIGGER_LABELS[key]) for key in service.EVENT_TRIGGERS]  # type: ignore[attr-defined]


def _error_into(form: forms.Form, error: ApplicationError, fields: dict[str, str] | None = None) -> None:
    """A service's refusal shown on the field it names (else above the form)."""
    named = (error.extra or {}).get("field", "")
    field = (fields or {}).get(named, named)
    form.add_error(field if field in form.fields else None, error.message)


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_flows(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    create_form = FlowCreateForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in ("enable", "pause"):
            service.flow_enable(shop=access.shop, key=request.POST.get("flow", ""), enabled=action == "enable")
            return saved_redirect(access, LIST_VIEW)
        if action != "create":
            raise ApplicationError("unknown action", status=400, code="invalid")
        create_form = FlowCreateForm(request.POST)
        if create_form.is_valid():
            try:
                flow = service.flow_create(shop=access.shop, trigger=create_form.cleaned_data["trigger"],
                                           name=create_form.cleaned_data["name"])
            except ApplicationError as error:
                _error_into(create_form, error)
            else:
                return saved_redirect(access, FLOW_VIEW, flow.key)
        status = 400
    stats = {row["flow"]: row for row in attribution.flow_stats(shop=access.shop)}
    rows = []
    for flow in campaign_selectors.flow_list(shop=access.shop):
        numbers = stats.get(flow.key, {})
        rows.append({
            "key": flow.key, "name": translated(flow.name), "enabled": flow.is_enabled,
            "trigger": TRIGGER_LABELS.get(flow.trigger, flow.trigger),
            "steps": [f"{_delay_label(step.delay_minutes)} · {step.get_action_display()} · "
                      f"{_template_label(step.template)}" for step in _current_steps(flow)],
            "sent": formatting.number(numbers.get("sent", 0), 0),
            "deferred": formatting.number(numbers.get("deferred", 0), 0),
            "skipped": formatting.number(numbers.get("skipped", 0), 0),
            "orders": formatting.number(numbers.get("orders", 0), 0),
            "revenue": formatting.money(numbers.get("revenue", "0"), access.shop.currency),
            "url": access.url(FLOW_VIEW, flow.key),
        })
    response = render_page(request, access, view_name=LIST_VIEW, title=_("Flow settings"),
                           template="dashboard/settings/flows.html", rows=rows, create_form=create_form,
                           action=form_action(request, access, LIST_VIEW))
    response.status_code = status
    return response


# --- one flow ------------------------------------------------------------------------------------

class StepForm(forms.Form):
    delay_minutes = forms.IntegerField(label=gettext_lazy("Wait"), min_value=0, initial=0,
                                       help_text=gettext_lazy("After the trigger, or after the step before."))
    delay_unit = forms.ChoiceField(label=gettext_lazy("Unit"), choices=DELAY_UNIT_CHOICES, required=False,
                                   initial="minutes")
    action = forms.ChoiceField(label=gettext_lazy("Channel"), choices=StepAction.choices)
    template = forms.ChoiceField(label=gettext_lazy("Message"))
    no_order_since_enrolment = forms.BooleanField(
        label=gettext_lazy("Stop if the customer ordered since the flow started"), required=False)
    segment = forms.ChoiceField(label=gettext_lazy("Only customers in the segment"), required=False)
    not_segment = forms.ChoiceField(label=gettext_lazy("Not to customers in the segment"), required=False)
    discount_percent = forms.IntegerField(label=gettext_lazy("Discount (%)"), min_value=1, max_value=100,
                                          required=False, help_text=gettext_lazy("Email only: a single-use code."))
    discount_hours = forms.IntegerField(label=gettext_lazy("Code valid for (hours)"), min_value=1,
                                        max_value=90 * 24, required=False)
    co_purchased = forms.IntegerField(
        label=gettext_lazy("Products bought together to offer"), min_value=1, max_value=12, required=False,
        help_text=gettext_lazy("For an order's flows: what other shoppers bought with it (the upsell needs it)."))
    text_en = forms.CharField(label=gettext_lazy("SMS text in English"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    text_he = forms.CharField(label=gettext_lazy("SMS text in Hebrew"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3, "dir": "rtl", "lang": "he"}))
    text_fa = forms.CharField(label=gettext_lazy("SMS text in Persian"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3, "dir": "rtl", "lang": "fa"}))
    original_position = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, segments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [  # type: ignore[attr-defined]
            (str(_("Email")), [(key, _template_label(key)) for key in sorted(email.templates())]),
            (str(_("SMS")), [(key, _template_label(key)) for key in sorted(sms.templates())]),
        ]
        anyone = [("", _("Anyone"))]
        self.fields["segment"].choices = anyone + segments  # type: ignore[attr-defined]
        self.fields["not_segment"].choices = [("", _("Nobody excluded"))] + segments  # type: ignore[attr-defined]


class BaseStepFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "segments": self.form_kwargs["segments"]}

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].label = gettext_lazy("Remove this step")


StepFormSet = forms.formset_factory(StepForm, formset=BaseStepFormSet, extra=0, can_delete=True,
                                    max_num=service.MAX_STEPS, absolute_max=service.MAX_STEPS)


def _initial(step: FlowStep) -> dict[str, Any]:
    unit = next((name for name, factor in reversed(DELAY_UNITS.items())
                 if step.delay_minutes and step.delay_minutes % factor == 0), "minutes")
    conditions, config = step.conditions or {}, step.config or {}
    texts = config.get("texts") or {}
    return {"delay_minutes": step.delay_minutes // DELAY_UNITS[unit], "delay_unit": unit, "action": step.action,
            "template": step.template, "no_order_since_enrolment": bool(conditions.get("no_order_since_enrolment")),
            "segment": conditions.get("segment", ""), "not_segment": conditions.get("not_segment", ""),
            "discount_percent": config.get("discount_percent"), "discount_hours": config.get("discount_hours"),
            "co_purchased": config.get("co_purchased"),
            **{f"text_{language}": texts.get(language, "") for language in LANGUAGES},
            "original_position": step.position}


# The config keys the form edits; the others (``recommend``, ``co_purchased``) are kept as they are.
FORM_CONFIG = ("discount_percent", "discount_hours", "texts", "co_purchased")


def _step_input(data: dict[str, Any], original: FlowStep | None) -> dict[str, Any]:
    """What the API's ``steps[]`` item would be for one step form."""
    action = data["action"]
    unit = data.get("delay_unit") or "minutes"
    conditions: dict[str, Any] = {}
    if data.get("no_order_since_enrolment"):
        conditions["no_order_since_enrolment"] = True
    for name in ("segment", "not_segment"):
        if data.get(name):
            conditions[name] = data[name]
    allowed = service.CONFIG_RANGES[StepAction(action)]
    config = {name: value for name, value in ((original.config or {}) if original else {}).items()
              if name not in FORM_CONFIG and name in allowed}
    if data.get("co_purchased") is not None:
        config["co_purchased"] = data["co_purchased"]
    if action == StepAction.SEND_EMAIL:
        for name in ("discount_percent", "discount_hours"):
            if data.get(name) is not None:
                config[name] = data[name]
    else:
        texts = {language: data.get(f"text_{language}") or "" for language in LANGUAGES}
        if any(text.strip() for text in texts.values()):
            config["texts"] = texts
    template = data["template"]
    transactional = template in service.TRANSACTIONAL_TEMPLATES
    is_marketing = (original.is_marketing if original is not None and original.template == template
                    else not transactional) if transactional else True
    return {"delay_minutes": data["delay_minutes"] * DELAY_UNITS.get(unit, 1), "action": action,
            "template": template, "is_marketing": is_marketing, "conditions": conditions, "config": config}


def _step_field(path: str) -> tuple[int, str] | None:
    """``steps[2].config.texts.he`` -> (2, "text_he"): where a service's refusal belongs."""
    if not path.startswith("steps["):
        return None
    index_text, _sep, rest = path[len("steps["):].partition("]")
    if not index_text.isdigit():
        return None
    rest = rest.lstrip(".")
    names = {"conditions": "segment", "config.discount_percent": "discount_percent",
             "config.discount_hours": "discount_hours", "config": "discount_percent",
             "config.co_purchased": "co_purchased"}
    if rest.startswith("config.texts."):
        return int(index_text), f"text_{rest.rsplit('.', 1)[-1]}"
    return int(index_text), names.get(rest, rest or "template")


def _segments(access: DashboardAccess) -> list[tuple[str, str]]:
    return [(row["key"], f"{row['name']} ({formatting.number(row['count'], 0)})")
            for row in segment_counts(shop=access.shop)]


def _email_links(access: DashboardAccess, flow: Flow, position: int) -> list[dict[str, str]]:
    """The email editor of this step in each language, when the page exists."""
    try:
        return [{"language": language, "label": str(LANGUAGE_LABELS[language]),
                 "url": access.url(EMAIL_VIEW, flow.key, position, language)} for language in LANGUAGES]
    except NoReverseMatch:
        return []


SETTING_LABELS = {
    "inactive_days": gettext_lazy("Days without an order before the customer counts as lapsed"),
    "first_order_only": gettext_lazy("Only after a customer's first order"),
    "min_repurchases": gettext_lazy("Repeat purchases needed to learn a product's cycle"),
    "max_cycle_days": gettext_lazy("Longest cycle counted as running out (days)"),
}


def settings_form(flow: Flow, data: Any = None) -> forms.Form | None:
    """The flow's simple settings (whole numbers and switches of its preset), named as the API's
    ``settings`` keys; ``None`` when the flow has none (the holiday calendar has its own page)."""
    defaults = dict(service.PRESETS.get(flow.key, {}).get("settings", {}))
    if flow.trigger == "order.paid":
        defaults.setdefault("first_order_only", False)
    form = forms.Form(data)
    for name, default in defaults.items():
        value = flow.settings.get(name, default)
        if isinstance(default, bool):
            form.fields[name] = forms.BooleanField(label=SETTING_LABELS.get(name, name), required=False,
                                                   initial=value)
        elif isinstance(default, int) and name in SETTING_LABELS:
            form.fields[name] = forms.IntegerField(label=SETTING_LABELS[name], min_value=1, max_value=3650,
                                                   initial=value)
    return form if form.fields else None


class HistoryForm(forms.Form):
    days = forms.IntegerField(label=gettext_lazy("Days of history"), min_value=1, max_value=service.HISTORY_MAX_DAYS,
                              initial=30, help_text=gettext_lazy("Customers whose trigger happened in these days "
                                                                 "enter the flow now (at most 90 days)."))


def _current_steps(flow: Flow) -> list[FlowStep]:
    """The steps of the flow's current version (``flow_list`` prefetches them)."""
    return list(getattr(flow, "current_steps", []))


def _flow_or_404(access: DashboardAccess, key: str) -> Flow:
    found = campaign_selectors.flow_list(shop=access.shop, key=key)
    if not found:
        raise ApplicationError("unknown flow", status=404, code="not_found")
    return found[0]


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_flow(request: HttpRequest, access: DashboardAccess, key: str) -> HttpResponse:
    flow = _flow_or_404(access, key)
    part = request.GET.get("part", "")
    if request.method == "GET" and part:
        return _part(request, access, flow, part)
    segments = _segments(access)
    current = {step.position: step for step in _current_steps(flow)}
    formset = StepFormSet(prefix="steps", initial=[_initial(step) for step in current.values()],
                          form_kwargs={"segments": segments})
    history_form = HistoryForm()
    flow_settings = settings_form(flow)
    dry_run: int | None = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action in ("enable", "pause"):
            service.flow_enable(shop=access.shop, key=flow.key, enabled=action == "enable")
            return saved_redirect(access, FLOW_VIEW, flow.key)
        if action == "settings":
            posted = settings_form(flow, request.POST)
            if posted is None:
                raise ApplicationError("this flow has no settings here", status=400, code="invalid")
            if posted.is_valid():
                changes = {name: value for name, value in posted.cleaned_data.items()
                           if value != posted.fields[name].initial}  # an unchanged setting makes no version
                try:
                    if changes:
                        service.flow_edit(shop=access.shop, key=flow.key, settings=changes)
                except ApplicationError as error:
                    _error_into(posted, error, {f"settings.{name}": name for name in posted.fields})
                else:
                    return saved_redirect(access, FLOW_VIEW, flow.key)
            flow_settings = posted
            status = 400
        elif action in ("history_dry_run", "history_apply"):
            history_form = HistoryForm(request.POST)
            if history_form.is_valid():
                days = history_form.cleaned_data["days"]
                try:
                    if action == "history_dry_run":
                        dry_run = service.flow_apply_history_dry_run(shop=access.shop, key=flow.key, days=days)
                    else:
                        enrolled = service.flow_apply_history(shop=access.shop, key=flow.key, days=days)
                        return saved_redirect(access, FLOW_VIEW, flow.key, enrolled=str(enrolled))
                except ApplicationError as error:
                    history_form.add_error("days", error.message)
            if history_form.errors:
                status = 400
        elif action in ("save", "add_step"):
            formset = StepFormSet(request.POST, prefix="steps", form_kwargs={"segments": segments})
            if action == "add_step":
                formset = _with_blank_step(request, segments)
            else:
                saved = _save_steps(access, flow, formset, current)
                if saved:
                    return saved_redirect(access, FLOW_VIEW, flow.key)
                status = 400
        else:
            raise ApplicationError("unknown action", status=400, code="invalid")
    flow = _flow_or_404(access, key)
    response = render_page(
        request, access, view_name=FLOW_VIEW, args=(flow.key,), title=translated(flow.name),
        template="dashboard/settings/flow.html", flow=flow, formset=formset, history_form=history_form,
        settings_form=flow_settings,
        holidays_url=access.url("dashboard:settings_holidays") if flow.key == "holiday_greetings" else "",
        dry_run=dry_run, dry_run_days=history_form.cleaned_data.get("days") if dry_run is not None else None,
        enrolled=request.GET.get("enrolled", ""), steps=_step_views(access, flow, formset),
        trigger=TRIGGER_LABELS.get(flow.trigger, flow.trigger),
        action=form_action(request, access, FLOW_VIEW, flow.key),
        list_url=access.url(LIST_VIEW), part_url=access.url(FLOW_VIEW, flow.key),
        history_applies=not (flow.trigger.startswith("schedule:") or flow.trigger == "manual"),
        placeholders=" ".join("{" + name + "}" for name in sms.PLACEHOLDERS), max_segments=sms.MAX_SEGMENTS)
    response.status_code = status
    return response


def _with_blank_step(request: HttpRequest, segments: list[tuple[str, str]]) -> forms.BaseFormSet:
    """The posted steps as typed, and one more empty step (nothing is saved yet)."""
    data = request.POST.copy()
    total = int(data.get("steps-TOTAL_FORMS") or 0)
    if total < service.MAX_STEPS:
        data["steps-TOTAL_FORMS"] = str(total + 1)
        data[f"steps-{total}-delay_minutes"] = "1"
        data[f"steps-{total}-delay_unit"] = "days"
        data[f"steps-{total}-action"] = StepAction.SEND_EMAIL
        data[f"steps-{total}-template"] = "winback"
    formset = StepFormSet(data, prefix="steps", form_kwargs={"segments": segments})
    formset.is_valid()  # shows what was typed, errors included
    return formset


def _save_steps(access: DashboardAccess, flow: Flow, formset: forms.BaseFormSet,
                current: dict[int, FlowStep]) -> bool:
    if not formset.is_valid():
        return False
    kept = [form for form in formset.forms if not form.cleaned_data.get("DELETE")]
    if not kept:
        formset._non_form_errors = formset.error_class([_("A flow needs at least one step.")])  # type: ignore[attr-defined]
        return False
    steps = [_step_input(form.cleaned_data, current.get(form.cleaned_data.get("original_position")))
             for form in kept]
    try:
        service.flow_edit(shop=access.shop, key=flow.key, steps=steps)
    except ApplicationError as error:
        where = _step_field((error.extra or {}).get("field", ""))
        if where is not None and where[0] < len(kept):
            form = kept[where[0]]
            form.add_error(where[1] if where[1] in form.fields else None, error.message)
        else:
            formset._non_form_errors = formset.error_class([error.message])  # type: ignore[attr-defined]
        return False
    return True


def _step_views(access: DashboardAccess, flow: Flow, formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    """Each step form with what the template shows beside it: its channel, the email editor's link,
    and the SMS counters of its texts."""
    views = []
    for index, form in enumerate(formset.forms):
        value = form["action"].value()
        is_sms = value == StepAction.SEND_SMS
        template = form["template"].value() or ""
        is_marketing = template not in service.TRANSACTIONAL_TEMPLATES
        counters = []
        if is_sms:
            for language in LANGUAGES:
                name = f"text_{language}"
                text = form[name].value() or ""
                form.fields[name].widget.attrs.update({
                    "hx-get": access.url(FLOW_VIEW, flow.key, part="sms_count", language=language,
                                         field=form.add_prefix(name), is_marketing=str(int(is_marketing))),
                    "hx-trigger": "input changed delay:300ms", "hx-target": f"#{form[name].auto_id}-count",
                    "hx-swap": "innerHTML", "hx-include": "this",
                })
                counters.append({"language": language, "field": form[f"text_{language}"],
                                 "count": _count(access, text, language, is_marketing) if text.strip() else None,
                                 "is_marketing": int(is_marketing)})
        original = form["original_position"].value()
        saved_email = not is_sms and original not in (None, "") and str(original).isdigit()
        views.append({"form": form, "number": index + 1, "is_sms": is_sms, "counters": counters,
                      "email_links": _email_links(access, flow, int(str(original))) if saved_email else []})
    return views


def _count(access: DashboardAccess, text: str, language: str, is_marketing: bool) -> sms.SmsCount:
    return sms.text_count(shop=access.shop, text=text, language=language, is_marketing=is_marketing)


# --- htmx parts: the SMS counter, the customer search, the preview ---------------------------------

def _part(request: HttpRequest, access: DashboardAccess, flow: Flow, part: str) -> HttpResponse:
    if part == "sms_count":
        field = request.GET.get("field", "")
        language = request.GET.get("language", "en")
        if language not in LANGUAGES:
            raise ApplicationError("unknown language", status=400, code="invalid")
        text = request.GET.get(field, "") if field else request.GET.get("text", "")
        count = _count(access, text, language, request.GET.get("is_marketing", "1") == "1") if text.strip() else None
        return render(request, "dashboard/settings/_sms_count.html", {"count": count, "max_segments": sms.MAX_SEGMENTS})
    if part == "customers":
        query = request.GET.get("q", "")[:100]
        found = customer_search(shop=access.shop, query=query, limit=8)
        return render(request, "dashboard/settings/_flow_customers.html", {
            "customers": found, "query": query,
            "preview_url": access.url(FLOW_VIEW, flow.key, part="preview")})
    if part == "preview":
        customer_id = request.GET.get("customer_id", "")
        customer = (campaign_selectors.shop_customer(shop=access.shop, customer_id=int(customer_id))
                    if customer_id.isdigit() else None)
        if customer is None:
            raise ApplicationError("customer not found", status=404, code="not_found")
        rows = service.flow_preview(shop=access.shop, key=flow.key, customer=customer)
        for row in rows:
            row["decision_label"] = DECISION_LABELS.get(row["decision"]["action"], row["decision"]["action"])
            row["template_label"] = _template_label(row["template"])
            row["language_label"] = LANGUAGE_LABELS.get(row["language"], row["language"])
            row["count"] = sms.sms_count(text=row["text"]) if row["channel"] == "sms" else None
        return render(request, "dashboard/settings/_flow_preview.html", {"customer": customer, "rows": rows})
    raise ApplicationError("unknown part", status=404, code="not_found")
