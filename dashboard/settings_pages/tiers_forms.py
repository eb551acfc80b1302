"""Forms of the Tiers page: a new version of the tier rules (the scheme and its tiers, one row per
tier), and the activation of a version whose dry run the merchant has seen.

Field names are the merchant API's (``basis``, ``period``, ``grace_days``, ``tiers-N-threshold``...);
a tier's name in another language is ``tiers-N-names_<language>``."""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from loyalty.models import TierBasis, TierPeriod
from loyalty.services.tiers import TierSpec

#: Perks a tier can carry (keys of ``Tier.perks``), with their labels.
PERKS = (
    ("free_shipping", _("Free shipping")),
    ("early_access", _("Early access to sales")),
    ("birthday_gift", _("Birthday gift")),
)


def other_languages() -> list[str]:
    """The languages a tier may have its own name in (every dashboard language but the default)."""
    default = settings.LANGUAGE_CODE.split("-")[0]
    return [code for code, _name in settings.LANGUAGES if code != default]


class TierSchemeForm(forms.Form):
    basis = forms.ChoiceField(label=_("Customers reach a tier by"), choices=TierBasis.choices)
    period = forms.ChoiceField(label=_("Counted over"), choices=TierPeriod.choices)
    grace_days = forms.IntegerField(
        label=_("Grace days before a downgrade"), min_value=0, max_value=365, initial=30,
        help_text=_("A customer keeps a tier for the rest of the period they reached it in, plus these days."))


class TierForm(forms.Form):
    name = forms.CharField(label=_("Tier name"), max_length=100, required=False)
    threshold = forms.DecimalField(label=_("Threshold"), max_digits=20, decimal_places=3, min_value=Decimal(0),
                                   required=False,
                                   help_text=_("Money spent or points earned (as chosen above) to reach the tier."))
    earn_multiplier = forms.DecimalField(label=_("Points multiplier"), max_digits=6, decimal_places=3,
                                         min_value=Decimal(0), max_value=Decimal(10), initial=Decimal(1),
                                         required=False, help_text=_("1.5 earns half as many points again."))
    entry_points = forms.IntegerField(label=_("Points on reaching the tier"), min_value=0, max_value=1_000_000,
                                      initial=0, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for language in other_languages():
            self.fields[f"names_{language}"] = forms.CharField(
                label=_("Name in %(language)s") % {"language": get_language_info(language)["name_translated"]},
                max_length=100, required=False)
        for key, label in PERKS:
            self.fields[key] = forms.BooleanField(label=label, required=False)

    @property
    def is_blank(self) -> bool:
        """A spare row the merchant left empty (it adds no tier)."""
        data = getattr(self, "cleaned_data", {})
        return not data.get("name") and data.get("threshold") is None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank:
            return data
        if not (data.get("name") or "").strip():
            self.add_error("name", _("A tier needs a name."))
        if data.get("threshold") is None:
            self.add_error("threshold", _("A tier needs a threshold (0 for the first tier)."))
        return data

    def spec(self) -> TierSpec:
        data = self.cleaned_data
        multiplier = data.get("earn_multiplier")
        return TierSpec(name=data["name"].strip(), threshold=data["threshold"],
                        earn_multiplier=Decimal(1) if multiplier is None else multiplier,
                        entry_points=data.get("entry_points") or 0,
                        perks={key: bool(data.get(key)) for key, _label in PERKS},
                        names={language: data.get(f"names_{language}", "").strip() for language in other_languages()})


class BaseTierFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(form.errors for form in self.forms):
            return
        filled = [form for form in self.forms if not form.is_blank]
        if not filled:
            raise forms.ValidationError(_("Add at least one tier."))
        names: set[str] = set()
        thresholds: set[Decimal] = set()
        for form in filled:
            name = form.cleaned_data["name"].strip().casefold()
            if name in names:
                form.add_error("name", _("Another tier has this name."))
            if form.cleaned_data["threshold"] in thresholds:
                form.add_error("threshold", _("Another tier has this threshold."))
            names.add(name)
            thresholds.add(form.cleaned_data["threshold"])

    def specs(self) -> list[TierSpec]:
        return sorted((form.spec() for form in self.forms if not form.is_blank), key=lambda spec: spec.threshold)


TierFormSet = forms.formset_factory(TierForm, formset=BaseTierFormSet, extra=0, max_num=12, validate_max=True)
#: Spare rows under the current tiers, for adding a tier without script.
SPARE_ROWS = 2


def plain_decimal(value: Decimal) -> Decimal:
    """500.000 as 500, 1.250 as 1.25 (never 5E+2): what a merchant typed, not the column's scale."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def tier_initial(tiers: list[Any]) -> list[dict[str, Any]]:
    """The rows of the form for an existing version's tiers (the new version starts from them)."""
    rows = []
    for tier in tiers:
        row = {"name": tier.name, "threshold": plain_decimal(tier.threshold),
               "earn_multiplier": plain_decimal(tier.earn_multiplier), "entry_points": tier.entry_points}
        row.update({f"names_{language}": (tier.names or {}).get(language, "") for language in other_languages()})
        row.update({key: bool((tier.perks or {}).get(key)) for key, _label in PERKS})
        rows.append(row)
    return rows


class TierActivateForm(forms.Form):
    """Activate a version: ``dry_run`` is the fingerprint of the dry run the merchant was shown,
    so a version is activated only as seen (if the moves changed since, the page shows them again)."""

    scheme_id = forms.IntegerField(widget=forms.HiddenInput)
    dry_run = forms.CharField(max_length=64, widget=forms.HiddenInput)
