"""Forms of the Points and earning page and the Rewards pages.

Field names are the merchant API's (``points_per_currency_unit``, ``expiry_mode``...; a rule's
fields carry its kind as prefix: ``signup-points``, ``purchase-is_enabled``; a reward's name in
another language is ``names_<language>``).  The forms check types only; the rules (a rate above 0,
a percentage up to 100...) are the services' (``loyalty.services.program`` / ``.rewards``), whose
errors land next to the field they name."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import models
from django.db.models import Q
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _

from commerce.models import Product, Shop
from loyalty.models import EarningRule, Program, Reward, RewardKind, RuleKind, Tier, TierScheme
from loyalty.services.program import MAX_RULE_POINTS
from loyalty.services.rewards import reward_languages
from retention_app.locale_format import text_direction

#: Program fields edited on this page (the referral ones are on the Referrals page).
PROGRAM_FIELDS = (
    "is_enabled", "points_per_currency_unit", "rounding", "include_tax", "include_shipping", "award_on",
    "pending_days", "point_value", "negative_policy", "expiry_mode", "expiry_months", "expiry_days",
    "expiry_warning_days",
)

#: Earning rules on this page, in the order a merchant reads them; the referral rules are set with
#: the referral offer (Referrals page).
RULE_KINDS = (
    RuleKind.PURCHASE, RuleKind.SIGNUP, RuleKind.BIRTHDAY, RuleKind.REVIEW, RuleKind.SURVEY,
    RuleKind.SOCIAL_FOLLOW, RuleKind.SOCIAL_SHARE,
)
RULE_HINTS = {
    RuleKind.PURCHASE: gettext_lazy("Points for every paid order, at the rate above. Switch off to stop points "
                                    "for orders."),
    RuleKind.SIGNUP: gettext_lazy("Once, when a shopper creates their account."),
    RuleKind.BIRTHDAY: gettext_lazy("Once a year, on the shopper's birthday."),
    RuleKind.REVIEW: gettext_lazy("For each product review your review app reports."),
    RuleKind.SURVEY: gettext_lazy("For each survey the shopper answers."),
    RuleKind.SOCIAL_FOLLOW: gettext_lazy("Once per network the shopper follows you on."),
    RuleKind.SOCIAL_SHARE: gettext_lazy("Once per network the shopper shares your store on."),
}


def _plain(value: Any) -> Any:
    """A decimal as a merchant writes it (``5``, ``0.05``), not as stored (``5.0000``)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _numbers_typed(form: forms.BaseForm) -> None:
    """Number fields as text with a numeric keyboard: Persian and Arabic digits are read too."""
    for field in form.fields.values():
        if isinstance(field, (forms.IntegerField, forms.DecimalField)):
            decimal = isinstance(field, forms.DecimalField)
            field.widget = forms.TextInput(attrs={"inputmode": "decimal" if decimal else "numeric",
                                                  "autocomplete": "off", "dir": "ltr"})


class Checkbox(forms.CheckboxInput):
    """A checkbox that always sends its field: a hidden ``false`` first, then the box's ``on`` when
    ticked (the last value wins), so a post without the field at all means "unchanged"."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        hidden = format_html('<input type="hidden" name="{}" value="false">', name)
        return hidden + super().render(name, value, attrs, renderer)


def _posted(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(_plain(value))


def keep_unsent(form: forms.BaseForm) -> None:
    """Fields a post leaves out keep their current value (as the API's PATCH does), so a script can
    post only what it changes; the page's own forms send every field.  Checkboxes use
    ``Checkbox``, so an unticked box is sent as ``false``, not left out."""
    for field in form.fields.values():
        if isinstance(field, forms.BooleanField):
            field.widget = Checkbox(attrs=field.widget.attrs)
    if not form.is_bound:
        return
    data: QueryDict | dict[str, Any] = form.data.copy() if isinstance(form.data, QueryDict) else dict(form.data)
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        if key not in data:
            data[key] = _posted(form.initial.get(name, field.initial))
    form.data = data


class ProgramForm(forms.ModelForm):
    class Meta:
        model = Program
        fields = PROGRAM_FIELDS
        labels = {
            "is_enabled": gettext_lazy("The loyalty program is on"),
            "points_per_currency_unit": gettext_lazy("Points per currency unit spent"),
            "rounding": gettext_lazy("Rounding"),
            "include_tax": gettext_lazy("Count tax"),
            "include_shipping": gettext_lazy("Count shipping"),
            "award_on": gettext_lazy("Award points"),
            "pending_days": gettext_lazy("Return window (days)"),
            "point_value": gettext_lazy("What a point is worth to you"),
            "negative_policy": gettext_lazy("When a refund takes back points already spent"),
            "expiry_mode": gettext_lazy("Points expiry"),
            "expiry_months": gettext_lazy("Months without an order before points expire"),
            "expiry_days": gettext_lazy("Days before an earned batch expires"),
            "expiry_warning_days": gettext_lazy("Warn the shopper this many days before"),
        }
        help_texts = {
            "is_enabled": gettext_lazy("While it is off, shoppers earn nothing and cannot redeem; their balances "
                                       "stay."),
            "points_per_currency_unit": gettext_lazy("1 gives 1 point per unit of your currency (an order of 80 "
                                                     "earns 80 points); 0.5 gives half."),
            "pending_days": gettext_lazy("Points for an order become spendable after this many days, so a return "
                                         "can take them back first. 0: at once."),
            "point_value": gettext_lazy("For the liability report: e.g. 0.05 means 100 points cost you 5."),
            "expiry_warning_days": gettext_lazy("An email reminds the shopper before their points expire."),
            "expiry_months": gettext_lazy("Used when all points expire after months without an order."),
            "expiry_days": gettext_lazy("Used when each earned batch expires after a number of days."),
        }

    def __init__(self, *args: Any, currency: str = "", preview_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("points_per_currency_unit", "point_value"):
            self.initial[name] = _plain(self.initial.get(name))
        if currency:
            self.fields["points_per_currency_unit"].label = _("Points per %(currency)s spent") % {
                "currency": currency}
            self.fields["point_value"].label = _("What a point is worth to you (%(currency)s)") % {
                "currency": currency}
        _numbers_typed(self)
        if preview_url:  # "an order of 100 earns 500 points" while the merchant types
            for name in ("points_per_currency_unit", "rounding"):
                self.fields[name].widget.attrs.update({
                    "hx-get": preview_url, "hx-trigger": "input changed delay:300ms, change",
                    "hx-target": "#rate-preview", "hx-swap": "innerHTML",
                    "hx-include": "#id_points_per_currency_unit, #id_rounding", "aria-controls": "rate-preview"})
        keep_unsent(self)


class RuleForm(forms.Form):
    """One earning rule: on or off, and its points (the purchase rule: its product multipliers)."""

    is_enabled = forms.BooleanField(required=False)
    points = forms.IntegerField(min_value=0, max_value=MAX_RULE_POINTS, required=False)
    multipliers = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
        label=gettext_lazy("Product multipliers"),
        help_text=gettext_lazy("One product per line: its id or handle, then the factor, e.g. vitamin-c-serum = 2 "
                               "earns double on that product."))

    def __init__(self, *args: Any, rule: EarningRule, **kwargs: Any) -> None:
        self.kind = rule.kind
        self.shop_id = rule.shop_id
        kwargs.setdefault("prefix", rule.kind)
        kwargs.setdefault("initial", {
            "is_enabled": rule.is_enabled, "points": rule.points,
            "multipliers": "\n".join(f"{pid} = {factor}" for pid, factor in
                                     sorted((rule.multipliers or {}).get("products", {}).items())),
        })
        super().__init__(*args, **kwargs)
        label = RuleKind(rule.kind).label
        self.title = label
        self.fields["is_enabled"].label = _("%(rule)s: on") % {"rule": label}
        self.fields["is_enabled"].help_text = RULE_HINTS.get(RuleKind(rule.kind), "")
        self.fields["points"].label = _("Points: %(rule)s") % {"rule": label}
        if rule.kind == RuleKind.PURCHASE:
            del self.fields["points"]  # the rate is the program's
        else:
            del self.fields["multipliers"]
            self.fields["points"].required = True
        _numbers_typed(self)
        keep_unsent(self)

    def clean_multipliers(self) -> dict[str, Any]:
        """``id = factor`` lines as the API's ``{"products": {id: factor}}`` (the factor's rules are
        the service's)."""
        products: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data.get("multipliers", "").splitlines(), start=1):
            if not line.strip():
                continue
            for separator in ("=", ":", ","):
                if separator in line:
                    platform_id, factor = (part.strip() for part in line.split(separator, 1))
                    break
            else:
                raise forms.ValidationError(_("Line %(line)d: write the product id, then = and the factor.")
                                            % {"line": number})
            try:
                Decimal(factor)
            except InvalidOperation:
                raise forms.ValidationError(_("Line %(line)d: the factor is a number, e.g. 2 or 1.5.")
                                            % {"line": number}) from None
            products[platform_id] = factor
        return {"products": self._platform_ids(products)} if products else {}

    def _platform_ids(self, products: dict[str, str]) -> dict[str, str]:
        """A product written by its handle (``vitamin-c-serum``) is kept by its platform id, which
        the order lines carry; an id the store has not synced yet is kept as written."""
        handles = {product.handle.lower(): product.platform_id for product in
                   Product.objects.filter(shop_id=self.shop_id, handle__in=[key.lower() for key in products])}
        return {handles.get(key.lower(), key): factor for key, factor in products.items()}

    def products(self) -> list[dict[str, str]]:
        """The products the purchase rule multiplies, by title, for the page."""
        factors: dict[str, str] = {}
        for line in (self.initial.get("multipliers") or "").splitlines():
            if "=" in line:
                platform_id, factor = line.split("=", 1)
                factors[platform_id.strip()] = factor.strip()
        titles = dict(Product.objects.filter(shop_id=self.shop_id, platform_id__in=list(factors))
                      .values_list("platform_id", "title"))
        return [{"id": key, "title": titles.get(key, ""), "factor": factor} for key, factor in factors.items()]

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class RewardForm(forms.ModelForm):
    """A reward; the names in other languages are ``names_<language>`` fields."""

    class Meta:
        model = Reward
        fields = ("name", "kind", "points_cost", "value", "minimum_subtotal", "code_valid_days",
                  "collection_platform_id", "variant_platform_id", "tier_only", "personalised", "is_active")
        labels = {
            "name": gettext_lazy("Name (English)"),
            "kind": gettext_lazy("Kind"),
            "points_cost": gettext_lazy("Cost in points"),
            "value": gettext_lazy("Value"),
            "minimum_subtotal": gettext_lazy("Minimum order"),
            "code_valid_days": gettext_lazy("The code is valid for (days)"),
            "collection_platform_id": gettext_lazy("Only for the collection (id)"),
            "variant_platform_id": gettext_lazy("Free product: the product variant (id)"),
            "tier_only": gettext_lazy("Only for the tier"),
            "personalised": gettext_lazy("Aim the code at the shopper's favourite category"),
            "is_active": gettext_lazy("Shoppers can redeem it"),
        }
        help_texts = {
            "name": gettext_lazy("Shown to shoppers whose language has no name of its own below."),
            "value": gettext_lazy("The amount off, or the percentage off (1 to 100); not used for free shipping or "
                                  "a free product."),
            "minimum_subtotal": gettext_lazy("Leave empty for none."),
            "collection_platform_id": gettext_lazy("Leave empty for the whole order."),
            "variant_platform_id": gettext_lazy("Needed for a free product."),
            "personalised": gettext_lazy("From their purchase history; the whole order when they have none."),
            "is_active": gettext_lazy("When off, the reward leaves the widget; codes already issued still work."),
        }

    def __init__(self, *args: Any, shop: Shop, creating: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shop = shop
        scheme = TierScheme.objects.filter(shop=shop, is_active=True).first()
        tier_field = self.fields["tier_only"]
        assert isinstance(tier_field, forms.ModelChoiceField)
        # the active version's tiers, and the reward's own (of an older version) so an edit keeps it
        tier_field.queryset = Tier.objects.filter(shop=shop).filter(
            Q(scheme=scheme) | Q(pk=self.instance.tier_only_id or 0)).order_by("threshold")
        tier_field.empty_label = _("Every tier")
        if shop.currency:
            self.fields["value"].label = _("Value (%(currency)s or %%)") % {"currency": shop.currency}
            self.fields["minimum_subtotal"].label = _("Minimum order (%(currency)s)") % {"currency": shop.currency}
        for name in ("value", "minimum_subtotal"):
            self.initial[name] = _plain(self.initial.get(name))
        names = self.instance.names or {}
        for language in reward_languages():
            info = get_language_info(language)
            self.fields[f"names_{language}"] = forms.CharField(
                label=_("Name in %(language)s") % {"language": info["name_translated"]}, max_length=200,
                required=False, initial=names.get(language, ""),
                widget=forms.TextInput(attrs={"lang": language, "dir": text_direction(language)}))
        self.fields["value"].required = False
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = list(RewardKind.choices)  # no empty choice: a new reward starts as an amount off
        if creating:
            self.initial["kind"] = self.initial.get("kind") or RewardKind.FIXED_AMOUNT
            del self.fields["is_active"]
        self.order_fields(["name", *(f"names_{language}" for language in reward_languages())])
        _numbers_typed(self)
        keep_unsent(self)

    def _post_clean(self) -> None:
        """The rules are checked by the service when saving (one home), not by the model here."""

    def data_for_service(self) -> dict[str, Any]:
        data = {name: value for name, value in self.cleaned_data.items() if not name.startswith("names_")}
        data["names"] = {language: self.cleaned_data.get(f"names_{language}", "")
                         for language in reward_languages()}
        data["value"] = data.get("value") if data.get("value") is not None else Decimal(0)
        return data
