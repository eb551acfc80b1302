"""The privacy registry: one place that erases and exports a shopper's data in every app.

Every app that keeps data about shoppers (or the shop) registers one ``PrivacyParticipant`` in
its ``AppConfig.ready``: an eraser for one customer, an eraser for the whole shop, an export part
for data requests, and the declaration of the model fields holding personal data that its
erasers blank or delete (``personal_fields``), with the fields that look personal but are not
(``not_personal``, each with the reason).  ``tests/commerce/test_privacy_registry.py`` walks
every model and fails when a field that looks personal is in neither list, so a new model
cannot be forgotten.

``customers/redact`` and ``shop/redact`` (any platform) call ``customer_erase`` and
``shop_erase`` here; the rules for each app's tables live in that app's ``privacy.py``.
Participants run in reverse registration order (``INSTALLED_APPS`` order: commerce registers
first), so commerce blanks or deletes its customers and orders after every app that points at
them has done its part.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Expression, Func, JSONField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from commerce.models import (
    Customer,
    DomainEvent,
    EventDelivery,
    MarketingConsent,
    Order,
    OrderLine,
    Product,
    Refund,
    RefundLine,
    Shop,
    ShopStatus,
    Variant,
)
from retention_app.fields import EncryptedTextField


@dataclass(frozen=True)
class DataSubject:
    """One shopper as erasers and exporters see them: our customer rows, the orders to redact,
    and every email and phone they were known by -- guest loyalty accounts, referral friends
    and raw inbox payloads are keyed by those alone.  Emails are stripped and lower-cased."""

    shop: Shop
    platform_ids: tuple[str, ...] = ()
    customer_ids: tuple[int, ...] = ()
    order_ids: tuple[int, ...] = ()
    # the platform's ids of those orders, and of listed orders we never stored (a raw payload may hold them)
    order_platform_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @property
    def customers(self) -> Any:
        return Customer.objects.filter(shop=self.shop, pk__in=self.customer_ids)


class CustomerEraser(Protocol):
    def __call__(self, *, subject: DataSubject) -> None: ...


class ShopEraser(Protocol):
    def __call__(self, *, shop: Shop) -> None: ...


class Exporter(Protocol):
    def __call__(self, *, subject: DataSubject) -> Any: ...


@dataclass(frozen=True)
class PrivacyParticipant:
    """An app's part in privacy requests.  ``personal_fields`` and ``not_personal`` name fields
    as ``"app_label.Model.field"``; ``export`` returns JSON-ready data put under ``name``."""

    name: str
    erase_customer: CustomerEraser
    erase_shop: ShopEraser
    export: Exporter | None = None
    personal_fields: Sequence[str] = ()
    not_personal: Mapping[str, str] = field(default_factory=dict)


_participants: dict[str, PrivacyParticipant] = {}


def privacy_register(participant: PrivacyParticipant) -> None:
    """Join the registry (idempotent: ``ready`` may run twice in tests)."""
    _participants[participant.name] = participant


def participant_list() -> list[PrivacyParticipant]:
    return list(_participants.values())


def _clean(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({value.strip().lower() for value in values if value and value.strip()}))


def data_subject_resolve(
    *, shop: Shop, platform_id: str, order_platform_ids: Sequence[str] = (),
    emails: Sequence[str] = (), phones: Sequence[str] = (),
) -> DataSubject:
    """Everything that identifies the shopper in this shop: the customer row(s), their orders and
    the orders named by the request, and the emails/phones on all of them (read before erasing)."""
    customers = list(Customer.objects.filter(shop=shop, platform_id=platform_id).values("pk", "email", "phone"))
    customer_ids = [row["pk"] for row in customers]
    orders = list(
        Order.objects.filter(shop=shop)
        .filter(Q(customer_id__in=customer_ids) | Q(platform_id__in=list(order_platform_ids)))
        .values("pk", "email", "phone", "platform_id")
    )
    rows = customers + orders
    return DataSubject(
        shop=shop,
        platform_ids=(platform_id,) if platform_id else (),
        customer_ids=tuple(customer_ids),
        order_ids=tuple(row["pk"] for row in orders),
        order_platform_ids=tuple(sorted({*order_platform_ids, *(row["platform_id"] for row in orders)})),
        emails=_clean([*emails, *(row["email"] for row in rows)]),
        phones=tuple(sorted({p.strip() for p in [*phones, *(row["phone"] for row in rows)] if p and p.strip()})),
    )


@transaction.atomic
def customer_erase(
    *, shop: Shop, platform_id: str, order_platform_ids: Sequence[str] = (),
    emails: Sequence[str] = (), phones: Sequence[str] = (),
) -> DataSubject:
    """``customers/redact``: every app erases the shopper's personal data, in one transaction.
    Non-personal figures (order totals, ledger amounts, NPS scores) stay for the merchant's
    numbers, with the personal fields beside them blanked."""
    subject = data_subject_resolve(shop=shop, platform_id=platform_id, order_platform_ids=order_platform_ids,
                                   emails=emails, phones=phones)
    for participant in reversed(participant_list()):
        participant.erase_customer(subject=subject)
    return subject


@transaction.atomic
def shop_erase(*, shop: Shop) -> None:
    """``shop/redact``: every app deletes the shop's rows; the shop stays as a blank tombstone."""
    for participant in reversed(participant_list()):
        participant.erase_shop(shop=shop)


def customer_export(
    *, shop: Shop, platform_id: str, order_platform_ids: Sequence[str] = (), emails: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything we hold about one shopper, as plain JSON (``customers/data_request``)."""
    subject = data_subject_resolve(shop=shop, platform_id=platform_id, order_platform_ids=order_platform_ids,
                                   emails=emails)
    data: dict[str, Any] = {"shop": shop.domain}
    for participant in participant_list():
        if participant.export is not None:
            part = participant.export(subject=subject)
            if participant.name == "commerce":  # the customer and orders, at the top as always
                data.update(part)
            else:
                data[participant.name] = part
    return data


def admin_log_erase(*, objects: QuerySet[Any]) -> None:
    """Operators' edits in the Django admin name the object they changed (a customer's name or
    email, a guest account's email): keep that they happened, not whom they named."""
    ids = objects.order_by().annotate(text_pk=Cast("pk", output_field=CharField())).values("text_pk")
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(objects.model), object_id__in=ids).update(
        object_repr="[redacted]", change_message=""
    )


class JSONWithout(Func):
    """A JSON object without one of its keys, set-based (an erased reason in an event payload):
    ``payload - 'key'`` on PostgreSQL, ``json_remove(payload, '$.key')`` on SQLite."""

    output_field = JSONField()

    def __init__(self, expression: Expression | str, key: str) -> None:
        super().__init__(expression)
        self.key = key

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} - %s::text)", (*params, self.key)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_remove({sql}, %s)", (*params, f"$.{self.key}")


# --- commerce's own part: customers, orders, refunds, the outbox, the shop row ---------------

def _commerce_erase_customer(*, subject: DataSubject) -> None:
    now = timezone.now()
    subject.customers.update(
        first_name="", last_name="", email="", phone="", birthday=None, tags=[], locale="",
        country_code="", province_code="", timezone="", redacted_at=now, updated_at=now,
        email_consent=MarketingConsent.NOT_SUBSCRIBED, sms_consent=MarketingConsent.NOT_SUBSCRIBED,
    )
    orders = Order.objects.filter(shop=subject.shop, pk__in=subject.order_ids)
    orders.update(email="", phone="", shipping_address_key="", updated_at=now)
    Refund.objects.filter(shop=subject.shop, order_id__in=subject.order_ids).exclude(note="").update(note="")
    _event_errors_erase(subject=subject, now=now)
    admin_log_erase(objects=subject.customers)


def _event_errors_erase(*, subject: DataSubject, now: Any) -> None:
    """A subscriber's error message may quote the shopper (a database error naming a value):
    blank those of their events, and any that quotes their email or phone."""
    about = Q(event__payload__customer_id__in=subject.customer_ids) | Q(event__payload__order_id__in=subject.order_ids)
    for value in (*subject.emails, *subject.phones):
        about |= Q(error_message__icontains=value)
    EventDelivery.objects.filter(shop=subject.shop).filter(about).exclude(error_message="").update(
        error_message="", updated_at=now
    )


def _commerce_erase_shop(*, shop: Shop) -> None:
    admin_log_erase(objects=Customer.objects.filter(shop=shop))
    for model in (RefundLine, Refund, OrderLine, Order, Variant, Product, Customer, DomainEvent):
        model._default_manager.filter(shop=shop).delete()
    # Every credential the shop row holds (encrypted fields), whatever their names.
    secrets = {f.name: "" for f in Shop._meta.concrete_fields if isinstance(f, EncryptedTextField)}
    Shop.objects.filter(pk=shop.pk).update(name="", email="", scopes="", status=ShopStatus.REDACTED,
                                           updated_at=timezone.now(), **secrets)
    shop.refresh_from_db()


def _commerce_export(*, subject: DataSubject) -> dict[str, Any]:
    customer = subject.customers.order_by("pk").first()
    orders = (Order.objects.filter(shop=subject.shop, pk__in=subject.order_ids)
              .order_by("processed_at", "pk").prefetch_related("lines"))
    return {
        "customer": None if customer is None else {
            "platform_id": customer.platform_id,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
            "birthday": customer.birthday.isoformat() if customer.birthday else None,
            "locale": customer.locale,
            "country_code": customer.country_code,
            "province_code": customer.province_code,
            "timezone": customer.timezone,
            "tags": customer.tags,
            "email_consent": customer.email_consent,
            "sms_consent": customer.sms_consent,
            "first_order_at": customer.first_order_at.isoformat() if customer.first_order_at else None,
        },
        "orders": [
            {
                "platform_id": order.platform_id,
                "name": order.name,
                "email": order.email,
                "phone": order.phone,
                "processed_at": order.processed_at.isoformat() if order.processed_at else None,
                "financial_status": order.financial_status,
                "total": str(order.total),
                "total_refunded": str(order.total_refunded),
                "currency": order.currency,
                "lines": [
                    {"title": line.title, "sku": line.sku, "quantity": line.quantity,
                     "unit_price": str(line.unit_price)}
                    for line in order.lines.all()
                ],
            }
            for order in orders
        ],
    }


COMMERCE = PrivacyParticipant(
    name="commerce",
    erase_customer=_commerce_erase_customer,
    erase_shop=_commerce_erase_shop,
    export=_commerce_export,
    personal_fields=(
        "commerce.Customer.first_name", "commerce.Customer.last_name", "commerce.Customer.email",
        "commerce.Customer.phone", "commerce.Customer.birthday", "commerce.Customer.tags",
        "commerce.Customer.country_code", "commerce.Customer.province_code", "commerce.Customer.timezone",
        "commerce.Customer.locale", "commerce.Customer.email_consent", "commerce.Customer.sms_consent",
        "commerce.Order.email", "commerce.Order.phone", "commerce.Order.shipping_address_key",
        "commerce.Refund.note",
        "commerce.EventDelivery.error_message",  # deleted with the shop's events by shop/redact
        # the merchant's: blanked by shop/redact, with every credential (encrypted field) of the shop row
        "commerce.Shop.name", "commerce.Shop.email",
        *(f"commerce.Shop.{f.name}" for f in Shop._meta.concrete_fields if isinstance(f, EncryptedTextField)),
    ),
    not_personal={
        "commerce.Order.name": "the order's number (#1001), not a person's name",
        "commerce.Order.discount_codes": "codes and amounts the order used",
        "commerce.Product.tags": "the merchant's product tags",
        "commerce.DomainEvent.payload": "ids, amounts and points only (no names, emails or text)",
        "commerce.DomainEvent.name": "the event's name (order.paid)",
        "commerce.EventDelivery.error_traceback": "code locations only (file, line, function), no values",
        "commerce.EventDelivery.resolution_note": "the operator's note on how a failure was resolved",
        "commerce.Shop.domain": "the store's domain: the tombstone that says it was redacted",
        "commerce.Shop.scopes": "the app's granted API scopes",
    },
)
