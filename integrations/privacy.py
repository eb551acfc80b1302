"""Integrations' part in privacy requests (see ``commerce.privacy``): the raw webhook inbox, data
request exports and sync state.

A redacted customer's raw inbox payloads (an ``orders/create`` body holds their name, email,
addresses) are found in one statement per request -- the shop's deliveries whose body mentions
the customer's id or one of their orders' ids (as whole numbers), or one of their emails or
phones -- and blanked.  The row
stays, so a redelivery of the same id is still recognised as a duplicate and not processed
again; one not yet processed is marked ignored (processing it would bring the data back).
This is a text search over the raw bytes, on PostgreSQL and SQLite alike, so it also finds the
redact request itself and payloads of topics we do not parse.
"""

import re
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Func, Q, TextField
from django.utils import timezone

from commerce.models import Shop
from commerce.privacy import DataSubject, PrivacyParticipant
from integrations.models import DataRequestExport, DeliveryStatus, OAuthState, SyncCursor, SyncRun, WebhookDelivery

ERASED = "personal data erased (customers/redact)"


class BodyText(Func):
    """A raw body as text for a pattern search, whatever its bytes: PostgreSQL's ``escape``
    encoding keeps printable ASCII as is (other bytes become ``\\ooo``); SQLite reads the blob."""

    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="encode(%(expressions)s, 'escape')", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS TEXT)", **extra)


def _literal(value: str) -> str:
    """``value`` as a regular expression matching it inside :class:`BodyText` (both PostgreSQL's
    and Python's regex syntax: SQLite's REGEXP is Python's ``re``).  The search ignores case;
    beyond ASCII on PostgreSQL only by lower-casing the value (payloads write emails in lower case)."""
    value = value.lower()
    if connection.vendor == "postgresql":
        text = "".join(chr(byte) if 0 < byte < 128 and byte != 92 else f"\\{byte:03o}"
                       for byte in value.encode("utf-8"))
    else:
        text = value
    return "".join(char if char.isalnum() or char in "@_" else f"\\{char}" if char.isascii() else char
                   for char in text)


def body_mentions_pattern(*, ids: Iterable[str], texts: Iterable[str]) -> str | None:
    """A case-insensitive pattern for a body naming any of ``ids`` as a whole number (``5`` does
    not match inside ``1500``) or containing any of ``texts``; ``None`` when there is nothing to look for."""
    parts = [f"(^|[^0-9]){re.escape(value)}([^0-9]|$)" for value in ids if value.isdigit()]
    parts += [_literal(value) for value in texts if value]
    return "|".join(f"({part})" for part in parts) or None


def shop_deliveries(shop: Shop) -> Any:
    """The shop's inbox rows, with those that arrived before it was known under its domain."""
    return WebhookDelivery.objects.filter(
        Q(shop=shop) | Q(shop__isnull=True, platform=shop.platform, shop_domain=shop.domain)
    )


def deliveries_mentioning(*, shop: Shop, ids: Iterable[str], texts: Iterable[str]) -> Any:
    pattern = body_mentions_pattern(ids=ids, texts=texts)
    if pattern is None:
        return WebhookDelivery.objects.none()
    return shop_deliveries(shop).annotate(body_text=BodyText("body")).filter(body_text__iregex=pattern)


def erase_customer(*, subject: DataSubject) -> None:
    shop = subject.shop
    DataRequestExport.objects.filter(shop=shop, customer_platform_id__in=subject.platform_ids).delete()
    ids = subject.platform_ids + subject.order_platform_ids  # a refund's payload names only its order
    pks = list(deliveries_mentioning(shop=shop, ids=ids, texts=subject.emails + subject.phones)
               .values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=pks).exclude(
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED]
    ).update(status=DeliveryStatus.IGNORED, error=ERASED, next_attempt_at=None, processed_at=timezone.now())
    WebhookDelivery.objects.filter(pk__in=pks).update(body=b"")


def erase_shop(*, shop: Shop) -> None:
    DataRequestExport.objects.filter(shop=shop).delete()
    SyncRun.objects.filter(shop=shop).delete()
    SyncCursor.objects.filter(shop=shop).delete()
    OAuthState.objects.filter(shop_domain=shop.domain).delete()
    # The shop/redact request itself stays (it is being processed, and holds only the shop's id).
    shop_deliveries(shop).exclude(topic="shop/redact").delete()


INTEGRATIONS = PrivacyParticipant(
    name="integrations",
    erase_customer=erase_customer,
    erase_shop=erase_shop,
    personal_fields=(
        "integrations.WebhookDelivery.body", "integrations.WebhookDelivery.error",
        "integrations.DataRequestExport.data",
    ),
    not_personal={
        "integrations.WebhookDelivery.headers": "the platform's delivery headers (topic, shop, signature, ids)",
        "integrations.WebhookDelivery.shop_domain": "the store's domain",
        "integrations.OAuthState.shop_domain": "the store's domain",
        "integrations.SyncRun.result_url": "the platform's link to a bulk result file (expires within a week)",
        "integrations.SyncRun.progress": "counts per resource",
        "integrations.SyncRun.error": "the sync's error (the platform's message, no payload)",
    },
)
