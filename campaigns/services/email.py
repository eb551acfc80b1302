"""Email through Django's mail API (django-anymail in production, files under var/outbox/ in
development): HTML with a plain-text alternative, in the shopper's language, right-to-left for
Hebrew and Persian, with a one-click unsubscribe link and List-Unsubscribe headers."""

import secrets
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import translation

from campaigns.models import Channel, Message, MessageStatus, ScheduledStep
from campaigns.services.copy import COPY
from commerce.models import Customer, Order, OrderLine, Product, Variant
from integrations.platforms import DiscountKind, DiscountSpec, adapter_for

LANGUAGES = {"en", "he", "fa"}
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"


def language_for(customer: Customer) -> str:
    """The shopper's language from the platform (the customer's locale, else the locale of their
    latest order: Shopify's ``customer_locale``), else the shop's, else English."""
    latest_order_locale = (Order.objects.filter(shop_id=customer.shop_id, customer=customer).exclude(locale="")
                           .order_by("-processed_at").values_list("locale", flat=True).first())
    for candidate in (customer.locale, latest_order_locale, customer.shop.locale):
        code = (candidate or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def unsubscribe_token(customer: Customer, channel: str = Channel.EMAIL) -> str:
    return signing.dumps({"c": customer.pk, "ch": channel}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> tuple[int, str]:
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return int(data["c"]), str(data["ch"])


def _discount(scheduled: ScheduledStep, now: datetime) -> tuple[str, datetime | None]:
    config = scheduled.step.config or {}
    percent = config.get("discount_percent")
    if not percent:
        return "", None
    customer = scheduled.enrolment.customer
    ends = now + timedelta(hours=int(config.get("discount_hours", 72)))
    code = "BACK-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    adapter_for(customer.shop.platform).discount_code_create(
        shop=customer.shop,
        spec=DiscountSpec(code=code, title=f"Comeback: {scheduled.step.flow.name}", kind=DiscountKind.PERCENTAGE,
                          value=Decimal(str(percent)), usage_limit=1, ends_at=ends,
                          customer_platform_ids=(customer.platform_id,)),
    )
    return code, ends


def recommendations(*, customer: Customer, limit: int) -> Sequence[Variant]:
    """Products to suggest: in the categories the customer bought from, not bought yet, the
    merchant's highest-margin first (price minus unit cost); the shop's best margins otherwise."""
    bought = set(OrderLine.objects.filter(shop_id=customer.shop_id, order__customer=customer)
                 .values_list("product_id", flat=True))
    categories = set(Product.objects.filter(pk__in=bought).values_list("category", flat=True)) - {""}
    variants = (Variant.objects.filter(shop_id=customer.shop_id, unit_cost__isnull=False, product__status="active")
                .exclude(product_id__in=bought).select_related("product")
                .annotate(margin=F("price") - F("unit_cost")).order_by("-margin", "pk"))
    picked = list(variants.filter(product__category__in=categories)[:limit]) if categories else []
    if len(picked) < limit:
        picked += [v for v in variants[: limit * 3] if v not in picked][: limit - len(picked)]
    return picked


def _context(scheduled: ScheduledStep, code: str, ends: datetime | None) -> dict:
    customer = scheduled.enrolment.customer
    order = None
    order_id = (scheduled.enrolment.context or {}).get("order_id")
    if order_id:
        order = Order.objects.filter(shop_id=customer.shop_id, pk=order_id).prefetch_related("lines").first()
    history = list(
        OrderLine.objects.filter(shop_id=customer.shop_id, order__customer=customer, order__cancelled_at__isnull=True)
        .order_by("-order__processed_at").values_list("title", flat=True)[:3]
    )
    return {
        "customer": customer,
        "shop": customer.shop,
        "order": order,
        "lines": list(order.lines.all()) if order else [],
        "bought_before": history,
        "recommendations": recommendations(customer=customer, limit=int((scheduled.step.config or {}).get(
            "recommend", 0))) if (scheduled.step.config or {}).get("recommend") else [],
        "discount_code": code,
        "discount_percent": (scheduled.step.config or {}).get("discount_percent"),
        "discount_ends": ends,
        "unsubscribe_url": f"{settings.APP_URL}/u/{unsubscribe_token(customer)}",
        "is_marketing": scheduled.step.is_marketing,
    }


def send(*, scheduled: ScheduledStep, now: datetime) -> Message:
    customer = scheduled.enrolment.customer
    step = scheduled.step
    language = language_for(customer)
    code, ends = _discount(scheduled, now)
    context = _context(scheduled, code, ends)
    with translation.override(language):
        context["rtl"] = translation.get_language_bidi()
        context["language"] = language
        if step.template in COPY:
            values = {"first_name": customer.first_name or "", "shop": customer.shop.name or customer.shop.domain,
                      "code": code, "percent": context["discount_percent"] or "",
                      **(scheduled.enrolment.context or {})}
            if values.get("holiday_country"):
                from campaigns.services.engine import holiday_name

                localised = holiday_name(values["holiday_country"], date.fromisoformat(values["holiday_date"]),
                                         {"he": "he", "fa": "fa"}.get(language, "en_US"))
                values["holiday"] = localised or values["holiday"]
            copy = COPY[step.template]
            subject = str(copy["subject"]) % values
            context["paragraphs"] = [str(p) % values for p in copy["paragraphs"] if code or "%(code)s" not in str(p)]
            text = render_to_string("campaigns/email/simple.txt", context)
            html = render_to_string("campaigns/email/simple.html", context)
        else:
            subject = render_to_string(f"campaigns/email/{step.template}.subject.txt", context).strip()
            text = render_to_string(f"campaigns/email/{step.template}.txt", context)
            html = render_to_string(f"campaigns/email/{step.template}.html", context)
    headers = {}
    if step.is_marketing:
        headers = {"List-Unsubscribe": f"<{context['unsubscribe_url']}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    mail = EmailMultiAlternatives(subject=subject, body=text, to=[customer.email], headers=headers)
    mail.attach_alternative(html, "text/html")
    tracking_id = uuid.uuid4().hex
    # django-anymail passes metadata to the provider, which echoes it in tracking webhooks.
    mail.metadata = {"comeback_message": tracking_id}  # type: ignore[attr-defined]
    mail.send()
    status = getattr(mail, "anymail_status", None)
    return Message.objects.create(
        tracking_id=tracking_id,
        provider_message_id=str(status.message_id) if status and status.message_id is not None else "",
        shop_id=customer.shop_id, customer=customer, flow=step.flow, scheduled_step=scheduled, channel=Channel.EMAIL,
        template=step.template, language=language, is_marketing=step.is_marketing, subject=subject,
        discount_code=code, status=MessageStatus.SENT, at=now,
    )
