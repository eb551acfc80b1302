"""Email through Django's mail API (django-anymail in production, files under var/outbox/ in
development): HTML with a plain-text alternative, in the shopper's language, right-to-left for
Hebrew and Persian, with a one-click unsubscribe link and List-Unsubscribe headers."""

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from mjml import mjml2html

from campaigns.models import Branding, Channel, FlowStep, Message, MessageStatus, ScheduledStep
from campaigns.selectors import co_purchased
from campaigns.services.copy import COPY
from campaigns.services.email_blocks import LONG, NEEDS_CODE, PLACEHOLDER, Content, default_content
from campaigns.services.send_context import SendContext
from commerce.models import Customer, Order, OrderLine, Product, Shop, Variant
from integrations.platforms import DiscountKind, DiscountSpec, adapter_for
from retention_app.locale_format import format_datetime, isolate, local_digits

LANGUAGES = {"en", "he", "fa"}
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"


def language_for(customer: Customer) -> str:
    """The shopper's language from the platform (the customer's locale, else the locale of their
    latest order: Shopify's ``customer_locale``), else the shop's, else English."""
    return SendContext(now=timezone.now()).language(customer)


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
    unsubscribe_url: str = ""  # email only


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
                 .values_list("product_id", flat=True)) if customer.pk else set()
    categories = set(Product.objects.filter(pk__in=bought).values_list("category", flat=True)) - {""}
    variants = (Variant.objects.filter(shop_id=customer.shop_id, unit_cost__isnull=False, product__status="active")
                .exclude(product_id__in=bought).select_related("product")
                .annotate(margin=F("price") - F("unit_cost")).order_by("-margin", "pk"))
    picked = list(variants.filter(product__category__in=categories)[:limit]) if categories else []
    if len(picked) < limit:
        picked += [v for v in variants[: limit * 3] if v not in picked][: limit - len(picked)]
    return picked


def enrolment_order(*, customer: Customer, values: dict, context: SendContext | None = None) -> Order | None:
    """The order the enrolment is about (order-triggered flows), if any."""
    return (context or SendContext(now=timezone.now())).order(customer, values)


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


def _money(amount: Any, currency: str, language: str) -> str:
    return local_digits(format_currency(Decimal(str(amount)), currency, locale=language, numbering_system="default"),
                        language)


def _number(amount: Any, language: str) -> str:
    try:
        number = Decimal(str(amount))
    except InvalidOperation:  # not a number after all: shown as it came
        return local_digits(str(amount), language)
    return local_digits(format_decimal(number, locale=language, numbering_system="default"), language)


# Values that keep their own digits and direction inside any text: codes are typed as they are.
LATIN = {"code"}
ISOLATED = {"code", "order"}


def fill(text: str, values: dict[str, str], *, language: str, html: bool) -> str:
    """``text`` with its ``{placeholders}`` filled: digits in the language's (Persian digits in
    Persian, codes as they are), order numbers and codes isolated (``<bdi>`` in HTML, FSI...PDI in
    plain text and subjects) so "#9003" never shows as "9003#" in Hebrew.  HTML comes escaped."""
    out: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        out.append(_piece(text[position:match.start()], language=language, html=html))
        key = match.group(1)
        if key not in values:
            out.append(_piece(match.group(0), language=language, html=html))
        else:
            value = str(values[key])
            value = value if key in LATIN else local_digits(value, language)
            value = escape(value) if html else value
            if key in ISOLATED and value:
                value = f"<bdi>{value}</bdi>" if html else isolate(value)
            out.append(value)
        position = match.end()
    out.append(_piece(text[position:], language=language, html=html))
    return "".join(out)


def _piece(text: str, *, language: str, html: bool) -> str:
    text = local_digits(text, language)
    return str(escape(text)).replace("\n", "<br>") if html else text


def _values(*, step: FlowStep, customer: Customer, order: Order | None, values: dict, code: str,
            language: str, balance: int) -> dict[str, str]:
    shop = customer.shop
    filled = {"first_name": customer.first_name or "", "shop": shop.name or shop.domain, "code": code,
              "percent": str((step.config or {}).get("discount_percent") or ""),
              "balance": _number(balance, language),
              "order": order.name if order else ""}
    for key in ("points", "tier", "product", "launch", "holiday", "holiday_subject"):
        if key in values:
            filled[key] = _number(values[key], language) if key == "points" else str(values[key])
    if step.template == "holiday":  # the occasions' names and greeting in the shopper's language
        from campaigns.services.holidays import greeting_values

        filled.update({key: str(value) for key, value in
                       greeting_values(values={**values, **filled}, language=language).items()})
    return filled


def _ends_label(ends: datetime | None, *, shop_zone: str, language: str) -> str:
    """"Valid until Dec 7, 2026, 10:31 PM (Israel Time)." in the shopper's language, one stop."""
    if ends is None:
        return ""
    when = format_datetime(ends, language=language, zone=shop_zone, with_zone=True)
    return str(_("Valid until %(ends)s.") % {"ends": when.rstrip(".")})


def _product_item(item: Variant | Product, *, shop: Shop, language: str) -> dict[str, str]:
    variant = item if isinstance(item, Variant) else None
    product: Product = item.product if isinstance(item, Variant) else item
    adapter = adapter_for(shop.platform)
    handle = product.handle
    if handle:
        url = adapter.product_url(shop=shop, handle=handle)
    elif variant is not None and variant.platform_id:
        url = adapter.cart_link(shop=shop, variant_platform_ids=[variant.platform_id])
    else:
        url = adapter.storefront_url(shop=shop)
    return {"title": str(product.title), "image": product.image_url, "url": url,
            "price": _money(variant.price, variant.currency, language) if variant and variant.price is not None else ""}


def _blocks(*, content: Content, step: FlowStep, customer: Customer, order: Order | None,
            products: Sequence[Variant], code: str, ends: datetime | None, values: dict[str, str],
            language: str, balance: int, survey_url: str, context: SendContext) -> list[dict[str, Any]]:
    """The content's blocks with everything they show worked out; blocks with nothing to show
    (no code, no products, no survey) are left out."""
    shop = customer.shop
    adapter = adapter_for(shop.platform)
    store_url = adapter.storefront_url(shop=shop)
    resolved: list[dict[str, Any]] = []
    for block in content.blocks:
        kind = block["type"]
        text = str(block.get("text", ""))
        if not code and (kind == "discount" or NEEDS_CODE.search(text)):
            continue
        if kind in ("heading", "text"):
            resolved.append({"type": kind, "html": mark_safe(fill(text, values, language=language, html=True)),  # noqa: S308 - escaped in fill
                             "text": fill(text, values, language=language, html=False)})
        elif kind == "button":
            url = {"store": store_url, "survey": survey_url, "url": block.get("url", "")}[block.get("link", "store")]
            if url:
                resolved.append({"type": kind, "label": fill(text, values, language=language, html=False),
                                 "url": url})
        elif kind == "products":
            limit = int(block.get("limit", 3))
            items: Sequence[Variant | Product] = (
                list(products)[:limit] if block.get("source") == "recommended" else context.purchased(customer,
                                                                                                      limit))
            if items:
                resolved.append({"type": kind, "title": fill(text, values, language=language, html=False),
                                 "items": [_product_item(item, shop=shop, language=language) for item in items],
                                 "column_width": f"{100 / min(len(items), 3):.2f}%"})
        elif kind == "discount":
            percent = (step.config or {}).get("discount_percent")
            label = (str(_("Your code for %(percent)s%% off") % {"percent": local_digits(str(percent), language)})
                     if percent else str(_("Your code")))
            resolved.append({"type": kind, "code": code, "label": label,
                             "ends": _ends_label(ends, shop_zone=shop.timezone, language=language),
                             "apply_url": adapter.discount_apply_link(shop=shop, code=code) or ""})
        elif kind == "points":
            earned = ""
            if values.get("points"):
                earned = str(_("+%(points)s points for you") % {"points": values["points"]})
            resolved.append({"type": kind, "earned": earned,
                             "balance": str(_("%(balance)s points") % {"balance": _number(balance, language)})})
        elif kind == "order" and order is not None:
            resolved.append({"type": kind, "lines": [
                {"quantity": local_digits(str(line.quantity), language), "title": line.title,
                 "price": _money(line.unit_price, order.currency, language)} for line in order.lines.all()],
                "total": _money(order.total, order.currency, language)})
    return resolved


def _plain_text(*, blocks: list[dict[str, Any]], shop_name: str, store_url: str, brand: Branding,
                is_marketing: bool, unsubscribe: str) -> str:
    """The plain-text part: the same blocks, readable without HTML."""
    parts: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind in ("heading", "text"):
            parts.append(block["text"])
        elif kind == "button":
            parts.append(f"{block['label']}: {block['url']}")
        elif kind == "products":
            lines = [block["title"]] if block["title"] else []
            lines += [f"- {item['title']}" + (f" ({isolate(item['price'])})" if item["price"] else "")
                      + f": {item['url']}" for item in block["items"]]
            parts.append("\n".join(lines))
        elif kind == "discount":
            lines = [f"{block['label']}: {isolate(block['code'])}"]
            if block["ends"]:
                lines.append(block["ends"])
            if block["apply_url"]:
                lines.append(block["apply_url"])
            parts.append("\n".join(lines))
        elif kind == "points":
            parts.append("\n".join(filter(None, [block["earned"], f"{_('Your points balance')}: {block['balance']}"])))
        elif kind == "order":
            lines = [f"- {line['quantity']} × {line['title']}: {isolate(line['price'])}" for line in block["lines"]]
            lines.append(f"{_('Total')}: {isolate(block['total'])}")
            parts.append("\n".join(lines))
    footer = [line for line in (brand.footer_text, shop_name, store_url, brand.address) if line]
    if is_marketing:
        footer.append(f"{_('Unsubscribe')}: {unsubscribe}")
    parts.append("--\n" + "\n".join(footer))
    return "\n\n".join(parts) + "\n"


def content_for(*, step: FlowStep, language: str, context: SendContext | None = None) -> Content:
    """The merchant's words for this step in this language, else the built-in copy (the same for
    every message of a batch: built once per batch)."""
    context = context or SendContext(now=timezone.now())
    saved = context.email_content(step, language)
    if saved is not None:
        return Content(subject=saved.subject, preheader=saved.preheader, blocks=list(saved.blocks))
    key = ("default_content", step.template, language)
    if key not in context.memo:
        context.memo[key] = default_content(template=step.template, language=language)
    return context.memo[key]  # type: ignore[return-value]


# Steps whose email carries the link to one of the shop's surveys, when the merchant switched it on.
SURVEY_FOR_TEMPLATE = {"review_request": "satisfaction"}


def _survey_url(*, step: FlowStep, customer: Customer, order: Order | None, context: SendContext) -> str:
    """The signed link to the post-delivery survey (met expectations, on time, well packed)."""
    from surveys.models import Survey
    from surveys.services import survey_link

    kind = SURVEY_FOR_TEMPLATE.get(step.template)
    if not kind or customer.pk is None:
        return ""
    key = ("survey", customer.shop_id, kind)
    if key not in context.memo:
        context.memo[key] = Survey.objects.filter(shop_id=customer.shop_id, kind=kind, is_active=True).first()
    survey = context.memo[key]
    assert survey is None or isinstance(survey, Survey)
    return survey_link(shop=customer.shop, customer=customer, survey=survey, order=order) if survey else ""


def render(*, step: FlowStep, customer: Customer, values: dict, code: str, ends: datetime | None,
           products: Sequence[Variant] | None = None, content: Content | None = None,
           language: str | None = None, context: SendContext | None = None) -> Rendered:
    """Subject, plain text and branded responsive HTML (MJML) in the shopper's language (or
    ``language``), from the merchant's content for the step (or ``content``, the editor's unsaved
    words) else the built-in copy; ``values`` is the enrolment's context (order id, points,
    holiday...).  Writes nothing: the previews render through here.  ``context``: the batch's
    reads (the scheduler), else this message's own."""
    context = context or SendContext(now=timezone.now())
    language = language or context.language(customer)
    order = context.order(customer, values)
    if products is None:
        products = step_products(step=step, customer=customer, order=order)
    shop = customer.shop
    brand = context.branding(shop.pk, customer)
    store_url = adapter_for(shop.platform).storefront_url(shop=shop)
    balance = context.balance(customer)
    with translation.override(language):
        content = content or content_for(step=step, language=language, context=context)
        filled = _values(step=step, customer=customer, order=order, values=values, code=code, language=language,
                         balance=balance)
        blocks = _blocks(content=content, step=step, customer=customer, order=order, products=products, code=code,
                         ends=ends, values=filled, language=language, balance=balance,
                         survey_url=_survey_url(step=step, customer=customer, order=order, context=context),
                         context=context)
        subject = fill(content.subject, filled, language=language, html=False)
        unsubscribe = unsubscribe_url(customer) if customer.pk else f"{settings.APP_URL}/u/preview"
        shop_name = shop.name or shop.domain
        rtl = translation.get_language_bidi()
        mjml_source = render_to_string("campaigns/email/message.mjml", {
            "language": language, "direction": "rtl" if rtl else "ltr", "align": "right" if rtl else "left",
            "end": "left" if rtl else "right", "subject": subject,
            "preheader": fill(content.preheader, filled, language=language, html=False),
            "brand": brand, "shop_name": shop_name, "store_url": store_url, "blocks": blocks,
            "is_marketing": step.is_marketing, "unsubscribe_url": unsubscribe,
        })
        html = mjml2html(mjml_source, disable_comments=True)
        text = _plain_text(blocks=blocks, shop_name=shop_name, store_url=store_url, brand=brand,
                           is_marketing=step.is_marketing, unsubscribe=unsubscribe)
    return Rendered(language=language, subject=subject, text=text, html=html, products=products,
                    unsubscribe_url=unsubscribe)


# A line of a message may not exceed 998 bytes (RFC 5322).  MJML writes long lines, so Django had
# to send the whole HTML part quoted-printable: three bytes for each Hebrew or Persian byte, and
# the bulk of the scheduler's time spent encoding it.
LINE_LIMIT = 998
TAG_START = re.compile(r"<([a-zA-Z][\w:-]*)[ \t]+")


def short_lines(html: str) -> str:
    """``html`` with its long lines broken inside tags (after the tag's name, where a line break is
    as good as a space), so the part can go as plain 8-bit text."""
    if all(len(line.encode()) <= LINE_LIMIT for line in html.splitlines()):
        return html
    return TAG_START.sub(lambda tag: f"<{tag.group(1)}\n", html)


def templates() -> set[str]:
    """The email templates a step may use: every built-in email (``copy.py`` and the long ones)."""
    return set(COPY) | set(LONG)


class FlowEmail(EmailMultiAlternatives):
    """A flow email whose MIME parts are separated by a boundary chosen up front (128 random
    bits): left to Python's generator, every message would compile a regular expression to check
    the boundary it picks against the body (a tenth of the file and SMTP backends' work)."""

    def message(self, *args: Any, **kwargs: Any) -> Any:
        mime = super().message(*args, **kwargs)
        if mime.is_multipart() and not mime.get_boundary():
            mime.set_boundary(f"==comeback-{secrets.token_hex(16)}==")
        return mime


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the backend, and its record (unsaved: the batch writes them together)."""

    mail: FlowEmail
    message: Message


def tracking_id_for(scheduled: ScheduledStep) -> str:
    """The message's id in the provider's metadata: the same for every attempt of a step until it
    is deferred (a batch re-sent after a crash before its commit carries the ids it had), and not
    guessable (a keyed hash)."""
    attempt = f"{scheduled.shop_id}:{scheduled.pk}:{scheduled.deferrals}"
    return salted_hmac("campaigns.tracking", attempt).hexdigest()[:32]


def prepare(*, scheduled: ScheduledStep, now: datetime, context: SendContext) -> Outgoing:
    """The step's email, rendered, and its ``Message``; nothing sent, nothing written (except the
    discount code, created in the store).  Raises ``NothingToSend`` for a step with nothing to
    offer, and the platform's error when the code cannot be created."""
    customer = scheduled.enrolment.customer
    step = scheduled.step
    values = dict(scheduled.enrolment.context or {})
    # the products first: a step with nothing to offer must not create a discount code in the store
    products = step_products(step=step, customer=customer, order=context.order(customer, values))
    code, ends = _discount(scheduled, now)
    rendered = render(step=step, customer=customer, values=values, code=code, ends=ends, products=products,
                      context=context)
    headers = {}
    if step.is_marketing:
        headers = {"List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    mail = FlowEmail(subject=rendered.subject, body=rendered.text, to=[customer.email], headers=headers)
    mail.attach_alternative(short_lines(rendered.html), "text/html")
    tracking_id = tracking_id_for(scheduled)
    # django-anymail passes metadata to the provider, which echoes it in tracking webhooks.
    mail.metadata = {"comeback_message": tracking_id}  # type: ignore[attr-defined]
    message = Message(
        tracking_id=tracking_id, shop_id=customer.shop_id, customer=customer, flow=step.flow, scheduled_step=scheduled,
        channel=Channel.EMAIL, template=step.template, language=rendered.language, is_marketing=step.is_marketing,
        subject=rendered.subject, discount_code=code, status=MessageStatus.SENT, at=now,
    )
    return Outgoing(mail=mail, message=message)


def provider_message_id(mail: EmailMultiAlternatives) -> str:
    """The provider's id for a sent message (django-anymail's status; "" for Django's backends)."""
    status = getattr(mail, "anymail_status", None)
    return str(status.message_id) if status and status.message_id is not None else ""
