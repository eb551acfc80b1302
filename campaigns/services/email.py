"""Email through Django's mail API (django-anymail in production, files under var/outbox/ in
development): HTML with a plain-text alternative, in the shopper's language, right-to-left for
Hebrew and Persian, with a one-click unsubscribe link and List-Unsubscribe headers."""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import translation

from campaigns.models import Channel, FlowStep, Message, MessageStatus, ScheduledStep
from campaigns.selectors import co_purchased
from campaigns.services.copy import COPY
from commerce.models import Customer, Order, OrderLine, Product, Variant
from commerce.selectors import counted_order_q
from integrations.platforms import DiscountKind, DiscountSpec, adapter_for

LANGUAGES = {"en", "he", "fa"}
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "campaigns" / "email"


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


class NothingToSend(Exception):
    """The step has nothing worth sending (an upsell without a complementary product): the engine
    skips it with the reason instead of sending an empty message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rendered:
    """A message ready to send, or to show in the merchant's preview."""

    language: str
    subject: str
    text: str
    html: str = ""  # email only
    products: Sequence[Variant] = ()


def discount_planned(step: FlowStep) -> bool:
    return bool((step.config or {}).get("discount_percent"))


def discount_ends(step: FlowStep, now: datetime) -> datetime:
    return now + timedelta(hours=int((step.config or {}).get("discount_hours", 72)))


def _discount(scheduled: ScheduledStep, now: datetime) -> tuple[str, datetime | None]:
    step = scheduled.step
    if not discount_planned(step):
        return "", None
    customer = scheduled.enrolment.customer
    ends = discount_ends(step, now)
    code = "BACK-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    adapter_for(customer.shop.platform).discount_code_create(
        shop=customer.shop,
        spec=DiscountSpec(code=code, title=f"Comeback: {step.flow.name}", kind=DiscountKind.PERCENTAGE,
                          value=Decimal(str(step.config["discount_percent"])), usage_limit=1,
                          ends_at=ends, customer_platform_ids=(customer.platform_id,)),
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


def enrolment_order(*, customer: Customer, values: dict) -> Order | None:
    """The order the enrolment is about (order-triggered flows), if any."""
    order_id = values.get("order_id")
    if not order_id:
        return None
    return Order.objects.filter(shop_id=customer.shop_id, pk=order_id).prefetch_related("lines").first()


def step_products(*, step: FlowStep, customer: Customer, order: Order | None) -> Sequence[Variant]:
    """What the message offers: ``co_purchased`` products bought with the order by the shop's
    other customers (required: without one there is nothing to send), or ``recommend`` products
    for the customer's history."""
    config = step.config or {}
    if config.get("co_purchased"):
        products = co_purchased(order=order, limit=int(config["co_purchased"])) if order else []
        if not products:
            raise NothingToSend("no complementary product to offer for this order")
        return products
    if config.get("recommend"):
        return recommendations(customer=customer, limit=int(config["recommend"]))
    return []


def unsubscribe_url(customer: Customer, channel: str = Channel.EMAIL) -> str:
    return f"{settings.APP_URL}/u/{unsubscribe_token(customer, channel)}"


def _context(*, step: FlowStep, customer: Customer, order: Order | None, products: Sequence[Variant], code: str,
             ends: datetime | None) -> dict:
    history = list(
        OrderLine.objects.filter(counted_order_q(prefix="order__"), shop_id=customer.shop_id, order__customer=customer)
        .order_by("-order__processed_at").values_list("title", flat=True)[:3]
    )
    return {
        "customer": customer,
        "shop": customer.shop,
        "order": order,
        "lines": list(order.lines.all()) if order else [],
        "bought_before": history,
        "recommendations": products,
        "discount_code": code,
        "discount_percent": (step.config or {}).get("discount_percent"),
        "discount_ends": ends,
        "unsubscribe_url": unsubscribe_url(customer),
        "is_marketing": step.is_marketing,
        "survey_url": _survey_url(step=step, customer=customer, order=order),
    }


# Steps whose email carries the link to one of the shop's surveys, when the merchant switched it on.
SURVEY_FOR_TEMPLATE = {"review_request": "satisfaction"}


def _survey_url(*, step: FlowStep, customer: Customer, order: Order | None) -> str:
    """The signed link to the post-delivery survey (met expectations, on time, well packed)."""
    from surveys.models import Survey
    from surveys.services import survey_link

    kind = SURVEY_FOR_TEMPLATE.get(step.template)
    survey = Survey.objects.filter(shop_id=customer.shop_id, kind=kind, is_active=True).first() if kind else None
    return survey_link(shop=customer.shop, customer=customer, survey=survey, order=order) if survey else ""


def render(*, step: FlowStep, customer: Customer, values: dict, code: str, ends: datetime | None,
           products: Sequence[Variant] | None = None) -> Rendered:
    """Subject, plain text and HTML in the shopper's language; ``values`` is the enrolment's
    context (order id, points, holiday...).  Writes nothing: the preview renders through here."""
    language = language_for(customer)
    order = enrolment_order(customer=customer, values=values)
    if products is None:
        products = step_products(step=step, customer=customer, order=order)
    context = _context(step=step, customer=customer, order=order, products=products, code=code, ends=ends)
    with translation.override(language):
        context["rtl"] = translation.get_language_bidi()
        context["language"] = language
        if step.template in COPY:
            values = {"first_name": customer.first_name or "", "shop": customer.shop.name or customer.shop.domain,
                      "code": code, "percent": context["discount_percent"] or "", **values}
            if step.template == "holiday":  # the occasions' names and greeting in the shopper's language
                from campaigns.services.holidays import greeting_values

                values.update(greeting_values(values=values, language=language))
            copy = COPY[step.template]
            subject = str(copy["subject"]) % values
            context["paragraphs"] = [str(p) % values for p in copy["paragraphs"] if code or "%(code)s" not in str(p)]
            text = render_to_string("campaigns/email/simple.txt", context)
            html = render_to_string("campaigns/email/simple.html", context)
        else:
            subject = render_to_string(f"campaigns/email/{step.template}.subject.txt", context).strip()
            text = render_to_string(f"campaigns/email/{step.template}.txt", context)
            html = render_to_string(f"campaigns/email/{step.template}.html", context)
    return Rendered(language=language, subject=subject, text=text, html=html, products=products)


def templates() -> set[str]:
    """The email templates a step may use: the short ones in ``copy.py`` and those with files."""
    return set(COPY) | {path.name.removesuffix(".subject.txt") for path in TEMPLATE_DIR.glob("*.subject.txt")}


def send(*, scheduled: ScheduledStep, now: datetime) -> Message:
    customer = scheduled.enrolment.customer
    step = scheduled.step
    values = dict(scheduled.enrolment.context or {})
    # the products first: a step with nothing to offer must not create a discount code in the store
    products = step_products(step=step, customer=customer, order=enrolment_order(customer=customer, values=values))
    code, ends = _discount(scheduled, now)
    rendered = render(step=step, customer=customer, values=values, code=code, ends=ends, products=products)
    headers = {}
    if step.is_marketing:
        headers = {"List-Unsubscribe": f"<{unsubscribe_url(customer)}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    mail = EmailMultiAlternatives(subject=rendered.subject, body=rendered.text, to=[customer.email], headers=headers)
    mail.attach_alternative(rendered.html, "text/html")
    tracking_id = uuid.uuid4().hex
    # django-anymail passes metadata to the provider, which echoes it in tracking webhooks.
    mail.metadata = {"comeback_message": tracking_id}  # type: ignore[attr-defined]
    mail.send()
    status = getattr(mail, "anymail_status", None)
    return Message.objects.create(
        tracking_id=tracking_id,
        provider_message_id=str(status.message_id) if status and status.message_id is not None else "",
        shop_id=customer.shop_id, customer=customer, flow=step.flow, scheduled_step=scheduled, channel=Channel.EMAIL,
        template=step.template, language=rendered.language, is_marketing=step.is_marketing, subject=rendered.subject,
        discount_code=code, status=MessageStatus.SENT, at=now,
    )
