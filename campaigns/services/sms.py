"""Sending a flow step by SMS, the shopper's replies, and how many segments a text costs."""

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from campaigns.channels.sms import SmsProvider, keyword, phone_key, provider
from campaigns.models import Channel, FlowStep, Message, MessageStatus, ScheduledStep
from campaigns.services.consent import consent_change, unsubscribe
from campaigns.services.email import Rendered, step_products
from campaigns.services.send_context import SendContext
from commerce.models import ConsentSource, Customer, Shop
from integrations.platforms import adapter_for

TITLE_SEPARATOR = {"fa": "، "}
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "campaigns" / "sms"

# --- segments: what the carrier bills ------------------------------------------------------------
# GSM 03.38 (3GPP TS 23.038): the default alphabet (one septet each; 0x1B is the escape) and its
# extension table (escape + character: two septets).  Any other character makes the whole
# message UCS-2 (UTF-16: a character outside the BMP, e.g. an emoji, is two code units).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
# (one segment, each segment of a longer message): a longer message's segments carry a 6-byte
# concatenation header (UDH), leaving 153 septets or 67 UCS-2 units.
GSM7_LIMITS = (160, 153)
UCS2_LIMITS = (70, 67)
MAX_SEGMENTS = 10  # a flow's SMS text may cost at most this many segments


@dataclass(frozen=True)
class SmsCount:
    """What one SMS text costs: its encoding, its length in the encoding's units (septets for
    GSM-7, UTF-16 code units for UCS-2), the segments billed, the room left in the last one, and
    the characters that forced UCS-2 (to replace them, e.g. a typographic quote, in a Latin text)."""

    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    units: int
    segments: int
    per_segment: int
    remaining: int
    non_gsm: tuple[str, ...] = ()


def sms_count(*, text: str) -> SmsCount:
    """The one count of an SMS text: the live counter in the flow editor, the editor's limit and
    the message record at sending all call this.  A character is never split across segments (an
    escape pair or a surrogate pair starts the next one, as carriers and Twilio do)."""
    non_gsm = tuple(dict.fromkeys(char for char in text if char not in GSM7_BASIC and char not in GSM7_EXTENSION))
    if non_gsm:
        encoding, (single, multi) = "UCS-2", UCS2_LIMITS
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    else:
        encoding, (single, multi) = "GSM-7", GSM7_LIMITS
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
    units = sum(sizes)
    if units <= single:
        return SmsCount(encoding=encoding, characters=len(text), units=units, segments=1 if units else 0,
                        per_segment=single, remaining=single - units, non_gsm=non_gsm)
    segments, filled = 1, 0
    for size in sizes:
        if filled + size > multi:
            segments, filled = segments + 1, 0
        filled += size
    return SmsCount(encoding=encoding, characters=len(text), units=units, segments=segments, per_segment=multi,
                    remaining=multi - filled, non_gsm=non_gsm)


# --- the merchant's own text per language ------------------------------------------------------
# A step's ``config["texts"]`` ({"he": "..."}) replaces the template in that language; the
# placeholders below are filled in, and a marketing text always ends with the opt-out sentence.
PLACEHOLDERS = ("shop", "first_name", "products", "link", "holiday")
PLACEHOLDER = re.compile(r"\{(\w*)\}")
MAX_TEXT_CHARACTERS = 1600  # Twilio's limit for one message body


def text_placeholders_unknown(text: str) -> list[str]:
    """Placeholders in the text that are not ours (``{name}`` typos), in order."""
    return list(dict.fromkeys(name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS))


def _filled(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda found: values.get(found.group(1), found.group(0)), text)


def opt_out_sentence(language: str) -> str:
    with translation.override(language):
        return gettext("Reply STOP to opt out.")


def merchant_text(*, text: str, language: str, is_marketing: bool, values: dict[str, str]) -> str:
    """The shopper's SMS from the merchant's text: placeholders filled, the opt-out sentence last."""
    body = _filled(text.strip(), values)
    return f"{body} {opt_out_sentence(language)}" if is_marketing else body


def step_texts(step: FlowStep) -> dict[str, str]:
    texts = (step.config or {}).get("texts") or {}
    return {language: text for language, text in texts.items() if isinstance(text, str) and text.strip()}


def sample_values(*, shop: Shop) -> dict[str, str]:
    """What the counter fills placeholders with when no customer is chosen: the shop's name and
    link, a long first name and a two-product list (a real message is usually no longer)."""
    link = adapter_for(shop.platform).cart_link(shop=shop, variant_platform_ids=["44123456789012"])
    return {"shop": shop.name or shop.domain, "first_name": "Alexandra", "products": "Hair serum, Wide comb",
            "link": link, "holiday": "Rosh Hashanah"}


def text_count(*, shop: Shop, text: str, language: str, is_marketing: bool) -> SmsCount:
    """The count of a merchant's text as a shopper gets it (sample values, opt-out sentence)."""
    return sms_count(text=merchant_text(text=text, language=language, is_marketing=is_marketing,
                                        values=sample_values(shop=shop)))


def render(*, step: FlowStep, customer: Customer, values: dict, context: SendContext | None = None) -> Rendered:
    """The SMS body in the shopper's language: the merchant's text for that language if the step
    has one, else the template; ``values`` is the enrolment's context.  Writes nothing: the
    preview renders through here.  Raises ``NothingToSend`` when an upsell step has no
    complementary product for the order.  ``context``: the batch's reads (the scheduler)."""
    context = context or SendContext(now=timezone.now())
    language = context.language(customer)
    order = context.order(customer, values)
    products = step_products(step=step, customer=customer, order=order)
    link = ""
    if products:
        link = adapter_for(customer.shop.platform).cart_link(
            shop=customer.shop, variant_platform_ids=[variant.platform_id for variant in products])
    with translation.override(language):
        greeting = {}
        if step.template == "holiday":  # the occasions' names and greeting in the shopper's language
            from campaigns.services.holidays import greeting_values

            greeting = greeting_values(values=values, language=language)
        product_titles = TITLE_SEPARATOR.get(language, ", ").join(variant.product.title for variant in products)
        own = step_texts(step).get(language)
        if own:
            body = merchant_text(text=own, language=language, is_marketing=step.is_marketing, values={
                "shop": customer.shop.name or customer.shop.domain, "first_name": customer.first_name or "",
                "products": product_titles, "link": link, "holiday": greeting.get("holiday", "")})
        else:
            body = render_to_string(f"campaigns/sms/{step.template}.txt", {**greeting,
                "customer": customer, "shop": customer.shop, "order": order, "is_marketing": step.is_marketing,
                "products": products, "product_titles": product_titles, "link": link,
            }).strip()
    return Rendered(language=language, subject="", text=body, products=products)


def templates() -> set[str]:
    return {path.stem for path in TEMPLATE_DIR.glob("*.txt")}


@dataclass(frozen=True)
class Outgoing:
    """A text ready for the provider, and its record (unsaved: the batch writes them together)."""

    to: str
    body: str
    message: Message


def prepare(*, scheduled: ScheduledStep, now: datetime, context: SendContext) -> Outgoing:
    """The step's text and its ``Message``; nothing sent, nothing written.  Raises
    ``NothingToSend`` when an upsell has nothing to offer."""
    customer = scheduled.enrolment.customer
    step = scheduled.step
    rendered = render(step=step, customer=customer, values=dict(scheduled.enrolment.context or {}), context=context)
    return Outgoing(to=customer.phone, body=rendered.text, message=Message(
        shop_id=customer.shop_id, customer=customer, flow=step.flow, scheduled_step=scheduled, channel=Channel.SMS,
        template=step.template, language=rendered.language, is_marketing=step.is_marketing,
        subject=rendered.text[:300], segments=sms_count(text=rendered.text).segments, status=MessageStatus.SENT,
        at=now,
    ))


def send_text(*, outgoing: Outgoing, sender: SmsProvider | None = None) -> None:
    """Hand one text to the provider (``sender``: the batch's; Twilio has no call for many texts
    that differ, so each is its own request)."""
    (sender or provider()).send(to=outgoing.to, body=outgoing.body, sender=settings.SMS_SENDER)


def customers_with_phone(number: str) -> list[Customer]:
    key = phone_key(number)
    if len(key) < 7:
        return []
    return [c for c in Customer.objects.filter(~Q(phone="")).filter(phone__endswith=key[-4:])
            if phone_key(c.phone) == key]


def inbound_reply(*, sender: str, body: str) -> str:
    """STOP opts the number out at once (every shop that knows it: they share our sender);
    START opts back in; HELP is answered.  Returns the reply text ("" for none)."""
    word = keyword(body)
    customers = customers_with_phone(sender)
    if word == "stop":
        for customer in customers:
            unsubscribe(customer=customer, channel=Channel.SMS, source=ConsentSource.SMS_STOP)
        return "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    if word == "start":
        for customer in customers:
            consent_change(customer=customer, channel=Channel.SMS, subscribed=True, source=ConsentSource.SMS_START)
        return "You are subscribed again. Reply STOP to unsubscribe, HELP for help."
    if word == "help":
        return "Store messages from Comeback. Reply STOP to unsubscribe. Msg&data rates may apply."
    return ""
