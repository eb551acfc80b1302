"""Walking our apps' models for personal data: which fields look personal (by name and type),
which ones the privacy registry covers, and where given strings are still stored."""

import re
from collections.abc import Iterable
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models

from commerce.privacy import participant_list

# Names that say "personal": contact details, names, addresses, network addresses, free text.
PERSONAL_NAME = re.compile(
    r"(^|_)(e?mail|email_address|phone|mobile|sms_number|name|first_name|last_name|full_name|address\w*|street|"
    r"city|zip|postal_code|postcode|ip|ip_address|birthday|birth_date|dob|note|notes|comment|comments|body|text|"
    r"answer|message|detail|details|subject|recipient|to_address|content|context|payload|headers)(_|$)"
)
# Types that hold whatever they are given: free text, raw bytes, JSON, network addresses.
PERSONAL_TYPES = (models.TextField, models.BinaryField, models.JSONField, models.GenericIPAddressField)


def our_models() -> list[type[models.Model]]:
    """Every concrete model of the project's own apps (not Django's or third parties')."""
    base = Path(settings.BASE_DIR).resolve()
    found: list[type[models.Model]] = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if base in path.parents and ".venv" not in path.parts and "site-packages" not in path.parts:
            found.extend(model for model in config.get_models() if not model._meta.proxy)
    return found


def label(model: type[models.Model], field: models.Field) -> str:
    return f"{model._meta.app_label}.{model.__name__}.{field.name}"


def looks_personal(field: models.Field) -> bool:
    if not field.concrete or field.is_relation or field.primary_key:
        return False
    if isinstance(field, PERSONAL_TYPES):
        return True
    # numbers and flags are not personal whatever their name (``referral_ip_weekly_limit``)
    return isinstance(field, models.CharField | models.DateField) and bool(PERSONAL_NAME.search(field.name.lower()))


def declared() -> tuple[set[str], dict[str, str]]:
    personal: set[str] = set()
    allowed: dict[str, str] = {}
    for participant in participant_list():
        personal.update(participant.personal_fields)
        allowed.update(participant.not_personal)
    return personal, allowed


def unregistered_personal_fields(model_list: Iterable[type[models.Model]]) -> list[str]:
    personal, allowed = declared()
    return sorted(
        label(model, field)
        for model in model_list
        for field in model._meta.get_fields()
        if looks_personal(field) and label(model, field) not in personal and label(model, field) not in allowed
    )


def stored_values(model_list: Iterable[type[models.Model]]) -> Iterable[tuple[str, object]]:
    """(``app.Model.field``, value) for every text-like value of every row."""
    for model in model_list:
        fields = [f for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField, models.JSONField, models.BinaryField,
                                    models.GenericIPAddressField, models.EmailField))]
        if not fields:
            continue
        for row in model._default_manager.values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                if value not in (None, "", b"", {}, []):
                    yield label(model, field), value


def where_stored(needles: Iterable[str], model_list: Iterable[type[models.Model]] | None = None) -> list[str]:
    """``app.Model.field: needle`` for every stored value that contains one of ``needles``
    (case-insensitive; JSON and raw bytes are searched as text)."""
    lowered = [needle.lower() for needle in needles]
    hits: list[str] = []
    for where, value in stored_values(our_models() if model_list is None else model_list):
        if isinstance(value, bytes | memoryview):
            text = bytes(value).decode("utf-8", "replace")
        else:
            text = str(value)
        text = text.lower()
        hits.extend(f"{where}: {needle}" for needle in lowered if needle in text)
    return sorted(set(hits))
