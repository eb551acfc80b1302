"""The widget designer: colours, the launcher's corner and label, the texts per language and which
sections show, with a live preview of the real storefront widget (its own JS and CSS, drawn in the
page from the real state of the shop's program; the unsaved choices applied as they are typed).

Saving calls ``loyalty.services.widget.widget_settings_update``, as ``/api/loyalty/widget`` does;
the shoppers' widget shows the change on its next load.  What is left empty here falls back to the
theme editor's app-embed settings (colour, corner, label), then to the widget's defaults."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language, get_language_info, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.views import render_page
from loyalty.models import WIDGET_LANGUAGES, WIDGET_SECTIONS, LauncherPosition, WidgetSettings
from loyalty.selectors import widget_preview_state, widget_settings_get
from loyalty.services.widget import WIDGET_TEXTS, widget_settings_update
from retention_app.locale_format import text_direction

VIEW = "dashboard:settings_widget"

SECTION_LABELS = {
    "points": gettext_lazy("Points balance and activity"),
    "ways_to_earn": gettext_lazy("Ways to earn"),
    "rewards": gettext_lazy("Rewards"),
    "tiers": gettext_lazy("Tiers and progress to the next tier"),
    "referrals": gettext_lazy("Refer a friend"),
    "surveys": gettext_lazy("Surveys"),
}
TEXT_LABELS = {
    "launcher_label": gettext_lazy("Launcher label"),
    "title": gettext_lazy("Panel title"),
    "welcome": gettext_lazy("Welcome message"),
}
TEXT_HINTS = {
    "launcher_label": gettext_lazy("The button shoppers click. Empty: the label set in the theme editor."),
    "title": gettext_lazy("Empty: “Rewards” in the shopper's language."),
    "welcome": gettext_lazy("A line at the top of the panel. Empty: none."),
}


def text_field_name(language: str, key: str) -> str:
    """``texts.he.title``: the API's JSON path, as the form field's name."""
    return f"texts.{language}.{key}"


class WidgetForm(forms.Form):
    """Type checks only; the rules (a colour as #RRGGBB, text lengths) are the service's, whose
    errors land next to the field they name (the inputs' ``maxlength`` only helps the typing)."""

    accent_color = forms.CharField(
        label=gettext_lazy("Accent colour"), required=False,
        help_text=gettext_lazy("The launcher, buttons and headings, as #RRGGBB. Empty: the colour set in the "
                               "theme editor."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "placeholder": "#4a2f8f", "maxlength": 7,
                                 "data-color": "accent"}))
    accent_text_color = forms.CharField(
        label=gettext_lazy("Text colour on the accent"), required=False,
        help_text=gettext_lazy("As #RRGGBB. Empty: white."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "placeholder": "#ffffff", "maxlength": 7,
                                 "data-color": "ink"}))
    launcher_position = forms.ChoiceField(label=gettext_lazy("Launcher position"), required=False,
                                          choices=LauncherPosition.choices, widget=forms.RadioSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in WIDGET_SECTIONS:
            self.fields[f"show_{key}"] = forms.BooleanField(label=SECTION_LABELS[key], required=False)
        for language in WIDGET_LANGUAGES:
            for key, longest in WIDGET_TEXTS.items():
                widget: forms.Widget = (forms.Textarea(attrs={"rows": 2}) if key == "welcome"
                                        else forms.TextInput(attrs={"autocomplete": "off"}))
                widget.attrs.update({"lang": language, "dir": text_direction(language),
                                     "data-text": key, "data-language": language, "maxlength": longest})
                self.fields[text_field_name(language, key)] = forms.CharField(
                    label=TEXT_LABELS[key], help_text=TEXT_HINTS[key], required=False, widget=widget)

    @classmethod
    def initial_from(cls, widget: WidgetSettings) -> dict[str, Any]:
        initial: dict[str, Any] = {"accent_color": widget.accent_color, "accent_text_color": widget.accent_text_color,
                                   "launcher_position": widget.launcher_position}
        initial.update({f"show_{key}": getattr(widget, f"show_{key}") for key in WIDGET_SECTIONS})
        for language, values in (widget.texts or {}).items():
            for key in WIDGET_TEXTS:
                initial[text_field_name(language, key)] = values.get(key, "")
        return initial

    def changes(self) -> dict[str, Any]:
        """The cleaned data as the service (and the API) take it."""
        data = self.cleaned_data
        changes: dict[str, Any] = {name: data[name] for name in ("accent_color", "accent_text_color",
                                                                  "launcher_position")}
        changes.update({f"show_{key}": data[f"show_{key}"] for key in WIDGET_SECTIONS})
        changes["texts"] = {language: {key: data[text_field_name(language, key)] for key in WIDGET_TEXTS}
                            for language in WIDGET_LANGUAGES}
        return changes

    def add_service_errors(self, error: ValidationError) -> None:
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)

    def language_groups(self) -> list[dict[str, Any]]:
        return [{"code": language, "name": get_language_info(language)["name_local"],
                 "fields": [self[text_field_name(language, key)] for key in WIDGET_TEXTS]}
                for language in WIDGET_LANGUAGES]

    def section_fields(self) -> list[forms.BoundField]:
        return [self[f"show_{key}"] for key in WIDGET_SECTIONS]


def _preview_language() -> str:
    language = (get_language() or "en").split("-")[0]
    return language if language in WIDGET_LANGUAGES else "en"


def _render(request: HttpRequest, access: DashboardAccess, form: WidgetForm, status: int = 200) -> HttpResponse:
    states = {language: widget_preview_state(shop=access.shop, language=language) for language in WIDGET_LANGUAGES}
    response = render_page(
        request, access, view_name=VIEW, title=_("Widget"), template="dashboard/settings/widget.html",
        form=form, action=form_action(request, access, VIEW), preview_states=states,
        preview_language=_preview_language(),
        preview_languages=[(code, name) for code, name in settings.LANGUAGES if code in WIDGET_LANGUAGES],
    )
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_widget(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method == "POST":
        form = WidgetForm(request.POST)
        if form.is_valid():
            try:
                widget_settings_update(shop=access.shop, changes=form.changes())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return saved_redirect(access, VIEW)
        return _render(request, access, form, status=400)
    return _render(request, access, WidgetForm(initial=WidgetForm.initial_from(widget_settings_get(shop=access.shop))))
