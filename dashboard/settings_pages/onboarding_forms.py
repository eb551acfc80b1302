"""The set-up guide's forms, one per step; fields are named as the merchant API's JSON fields."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.services.holiday_catalogue import CATALOGUES
from dashboard import formatting
from dashboard.labels import translated
from dashboard.onboarding import (
    REWARD_PRESETS,
    TIER_KEEP,
    TIER_NONE,
    TIER_PRESETS,
    RewardPreset,
)
from loyalty.models import LauncherPosition

MAX_POINTS_PER_UNIT = Decimal("1000")
CALENDAR_LABELS = {"IL": gettext_lazy("Jewish and Israeli holidays"), "IR": gettext_lazy("Persian (Iranian) holidays")}


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


class ProgramStepForm(forms.Form):
    is_enabled = forms.BooleanField(
        required=False, label=gettext_lazy("Switch the loyalty program on"),
        help_text=gettext_lazy("Shoppers earn points for orders and see the rewards widget in your store."))
    points_per_currency_unit = forms.DecimalField(
        max_digits=10, decimal_places=4, max_value=MAX_POINTS_PER_UNIT, localize=False,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}))

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["points_per_currency_unit"]
        field.label = _("Points per %(unit)s spent") % {"unit": formatting.money(1, currency)}
        field.help_text = _("For example 1 point for every %(unit)s: an order of %(amount)s earns 100 points.") % {
            "unit": formatting.money(1, currency), "amount": formatting.money(100, currency)}
        field.error_messages["required"] = _("Enter how many points each %(unit)s earns.") % {
            "unit": formatting.money(1, currency)}

    def clean_points_per_currency_unit(self) -> Decimal:
        value = self.cleaned_data["points_per_currency_unit"]
        if value <= 0:
            raise forms.ValidationError(_("Enter a number above 0."))
        return value


def reward_label(preset: RewardPreset, *, currency: str, points_per_currency_unit: Decimal) -> str:
    """"$5 off your order, for 500 points (about 1% back at this rate)"."""
    name = preset.names(currency)[_language() if _language() in ("he", "fa") else "en"]
    label = _("%(name)s, for %(points)s points") % {"name": name, "points": formatting.number(preset.points_cost, 0)}
    back = preset.cash_back_percent(points_per_currency_unit)
    if back is not None:
        label += " " + _("(about %(percent)s back at your rate)") % {"percent": formatting.percent(back, 1)}
    return label


class RewardsStepForm(forms.Form):
    rewards = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, label=gettext_lazy("Starter rewards"),
        help_text=gettext_lazy("Shoppers trade points for these discount codes. Other rewards are switched off; "
                               "you can add your own on the Rewards page."),
        error_messages={"required": gettext_lazy("Choose at least one starter reward.")})

    def __init__(self, *args: Any, currency: str, points_per_currency_unit: Decimal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rewards"].choices = [  # type: ignore[attr-defined]
            (key, reward_label(preset, currency=currency, points_per_currency_unit=points_per_currency_unit))
            for key, preset in REWARD_PRESETS.items()]


def _tier_label(key: str, currency: str) -> str:
    specs = TIER_PRESETS[key]
    language = _language()
    parts = [specs[0].names.get(language, specs[0].name) if specs[0].names else specs[0].name]
    parts += [_("%(name)s from %(amount)s spent") % {
        "name": (spec.names or {}).get(language, spec.name), "amount": formatting.money(spec.threshold, currency)}
        for spec in specs[1:]]
    return ", ".join(parts)


class TiersStepForm(forms.Form):
    tiers = forms.ChoiceField(
        widget=forms.RadioSelect, label=gettext_lazy("Tiers"),
        help_text=gettext_lazy("Tiers reward your best customers: a higher tier earns more points per order. "
                               "You can change them later on the Tiers page."),
        error_messages={"required": gettext_lazy("Choose tiers, or no tiers.")})

    def __init__(self, *args: Any, currency: str, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(key, _tier_label(key, currency)) for key in TIER_PRESETS]
        if current == TIER_KEEP:
            choices.insert(0, (TIER_KEEP, _("Keep my current tiers")))
        choices.append((TIER_NONE, _("No tiers")))
        self.fields["tiers"].choices = choices  # type: ignore[attr-defined]


class FlowsStepForm(forms.Form):
    flows = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, label=gettext_lazy("Emails and messages to switch on"),
        help_text=gettext_lazy("Each is sent automatically when it applies, with consent, frequency caps and "
                               "quiet hours respected. Open a preview to read it as one of your customers would."))

    def __init__(self, *args: Any, flows: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flows"].choices = [(flow.key, translated(flow.name)) for flow in flows]  # type: ignore[attr-defined]


class HolidaysStepForm(forms.Form):
    enabled = forms.BooleanField(required=False, label=gettext_lazy("Send holiday greetings"))
    calendars = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, label=gettext_lazy("Calendars"),
        choices=[(code, label) for code, label in CALENDAR_LABELS.items()])
    occasions = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False, label=gettext_lazy("Occasions"),
        help_text=gettext_lazy("Only the occasions of the chosen calendars are greeted. Days of mourning and "
                               "remembrance are never greeted."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = _language()
        self.fields["occasions"].choices = [  # type: ignore[attr-defined]
            (str(CALENDAR_LABELS[code]), [(f"{code}:{occasion.key}", occasion.names.get(language, occasion.names["en"]))
                                          for occasion in CATALOGUES[code].occasions])
            for code in CALENDAR_LABELS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("enabled"):
            if not data.get("calendars"):
                self.add_error("calendars", _("Choose a calendar, or switch holiday greetings off."))
            elif not [item for item in data.get("occasions", []) if item.split(":")[0] in data["calendars"]]:
                self.add_error("occasions", _("Choose at least one occasion of the chosen calendars."))
        return data


class WidgetStepForm(forms.Form):
    accent_color = forms.CharField(
        required=False, max_length=7, label=gettext_lazy("Accent colour"),
        help_text=gettext_lazy("The launcher's and buttons' colour, as #RRGGBB (for example #4a2f8f). Empty: "
                               "the colour set in the theme editor."),
        widget=forms.TextInput(attrs={"placeholder": "#4a2f8f", "dir": "ltr", "spellcheck": "false",
                                      "autocomplete": "off"}))
    launcher_position = forms.ChoiceField(
        required=False, widget=forms.RadioSelect, label=gettext_lazy("Where the launcher sits"),
        choices=LauncherPosition.choices)


class LaunchForm(forms.Form):
    """Launching takes no input: the button confirms the dry run shown above it."""

