"""The widget designer: the shop's colours, launcher, texts per language and sections.

The merchant API (``/api/loyalty/widget``) and the dashboard's designer page both call
``widget_settings_update``, so the rules live here once.  Precedence on the storefront: what is
set here wins; a blank colour, position or text falls back to the theme editor's app-embed
setting, then to the widget's own default (``loyalty.selectors.widget_config`` says which)."""

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from commerce.models import Shop
from loyalty.lock_objects import widget_settings_lock
from loyalty.models import WIDGET_LANGUAGES, WIDGET_SECTIONS, LauncherPosition, WidgetSettings

#: The texts a merchant writes per language, with their longest length.
WIDGET_TEXTS = {"launcher_label": 30, "title": 60, "welcome": 280}
#: The settings a merchant sets (the API's JSON fields and the designer form's fields).
WIDGET_SETTINGS = ("accent_color", "accent_text_color", "launcher_position", "texts",
                   *(f"show_{key}" for key in WIDGET_SECTIONS))
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _color_clean(name: str, raw: Any) -> str:
    value = "" if raw is None else str(raw).strip()
    if value and not _COLOR.fullmatch(value):
        raise ValidationError({name: _("Enter a colour as #RRGGBB, e.g. #4a2f8f, or leave it empty.")})
    return value.lower()


def _texts_clean(raw: Any, current: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Texts given for a language replace that language's texts; languages not given are kept."""
    if not isinstance(raw, Mapping):
        raise ValidationError({"texts": _("Texts are given per language: {\"he\": {\"title\": \"…\"}}.")})
    texts = {language: dict(values) for language, values in current.items() if language in WIDGET_LANGUAGES}
    errors: dict[str, str] = {}
    for language, values in raw.items():
        if language not in WIDGET_LANGUAGES or not isinstance(values, Mapping):
            errors["texts"] = _("Texts are given per language: {\"he\": {\"title\": \"…\"}}.")
            continue
        cleaned: dict[str, str] = {}
        for key, value in values.items():
            longest = WIDGET_TEXTS.get(key)
            text = " ".join(str(value if value is not None else "").split())
            if longest is None:
                errors[f"texts.{language}.{key}"] = _("This is not a widget text.")
            elif len(text) > longest:
                errors[f"texts.{language}.{key}"] = _("At most %(most)s characters.") % {"most": longest}
            elif text:
                cleaned[key] = text
        texts[language] = cleaned
    if errors:
        raise ValidationError(errors)
    return {language: values for language, values in texts.items() if values}


def widget_settings_update(*, shop: Shop, changes: Mapping[str, Any]) -> WidgetSettings:
    """Change the designer's settings (only the fields given); nothing is saved when any breaks
    a rule.  The storefront widget shows the change on its next load."""
    unknown = set(changes) - set(WIDGET_SETTINGS)
    if unknown:
        raise ValidationError({name: _("This is not a widget setting.") for name in sorted(unknown)})
    with transaction.atomic():
        widget = _widget_settings_locked(shop=shop)
        errors: dict[str, list[str]] = {}
        for name, value in changes.items():
            try:
                if name in ("accent_color", "accent_text_color"):
                    value = _color_clean(name, value)
                elif name == "launcher_position":
                    value = "" if value is None else str(value)
                    if value not in LauncherPosition.values:
                        raise ValidationError({name: _("Choose bottom right, bottom left or bottom centre.")})
                elif name == "texts":
                    value = _texts_clean(value, widget.texts or {})
                elif not isinstance(value, bool):
                    raise ValidationError({name: _("Give true or false.")})
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    errors.setdefault(field, []).extend(messages)
                continue
            setattr(widget, name, value)
        if errors:
            raise ValidationError(errors)
        widget.save()
    return widget


def _widget_settings_locked(*, shop: Shop) -> WidgetSettings:
    """The shop's row, created on first save and locked, so two saves at once cannot lose a change."""
    try:
        with transaction.atomic():
            WidgetSettings.objects.get_or_create(shop=shop)
    except IntegrityError:  # created concurrently
        pass
    return widget_settings_lock(shop_id=shop.pk)
