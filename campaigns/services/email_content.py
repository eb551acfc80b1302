"""The merchant's emails: their words per flow step and language, the shop's branding, the
editor's preview and "send me a test"."""

from dataclasses import dataclass
from datetime import datetime

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from campaigns.models import Branding, EmailContent, Flow, FlowStep, StepAction
from campaigns.selectors import flow_list
from campaigns.services import email
from campaigns.services.email_blocks import Content, color_clean, content_clean
from campaigns.services.flows import PREVIEW_CODE, PREVIEW_SAMPLES
from commerce.models import Customer, Order, Shop
from retention_app.errors import ApplicationError

LANGUAGES = ("en", "he", "fa")


@dataclass(frozen=True)
class EmailStep:
    flow: Flow
    step: FlowStep


def email_step_get(*, shop: Shop, flow_key: str, position: int) -> EmailStep:
    """The email step at ``position`` of the flow's current version; 404 if there is none."""
    flows = flow_list(shop=shop, key=flow_key)
    if not flows:
        raise ApplicationError("unknown flow", status=404, code="not_found")
    flow = flows[0]
    step = next((step for step in getattr(flow, "current_steps", []) if step.position == position), None)
    if step is None or step.action != StepAction.SEND_EMAIL:
        raise ApplicationError("this flow has no email step at that position", status=404, code="not_found")
    step.flow = flow
    return EmailStep(flow=flow, step=step)


def language_checked(language: str) -> str:
    if language not in LANGUAGES:
        raise ApplicationError("language must be one of en, he, fa", status=404, code="not_found")
    return language


def email_content_save(*, shop: Shop, flow_key: str, position: int, language: str, subject: str,
                       preheader: str, blocks: object) -> EmailContent:
    """Save the merchant's subject, preheader and blocks for one step in one language (validated:
    a 400 ``invalid`` error, nothing written, when they are wrong)."""
    target = email_step_get(shop=shop, flow_key=flow_key, position=position)
    content = content_clean(subject=subject, preheader=preheader, blocks=blocks)
    saved, _created = EmailContent.objects.update_or_create(
        shop=shop, flow=target.flow, position=position, language=language_checked(language),
        defaults={"subject": content.subject, "preheader": content.preheader, "blocks": content.blocks})
    return saved


def email_content_reset(*, shop: Shop, flow_key: str, position: int, language: str) -> int:
    """Back to the built-in copy for this step and language; how many rows were removed."""
    target = email_step_get(shop=shop, flow_key=flow_key, position=position)
    deleted, _ = EmailContent.objects.filter(shop=shop, flow=target.flow, position=position,
                                             language=language_checked(language)).delete()
    return deleted


def branding_save(*, shop: Shop, logo_url: str, primary_color: str, accent_color: str, button_text_color: str,
                  footer_text: str, address: str) -> Branding:
    logo_url = (logo_url or "").strip()
    if logo_url and not logo_url.startswith("https://"):
        raise ApplicationError("logo_url must start with https:// (email clients block other images)",
                               status=400, code="invalid")
    values = {
        "logo_url": logo_url,
        "primary_color": color_clean(primary_color, name="primary_color"),
        "accent_color": color_clean(accent_color, name="accent_color"),
        "button_text_color": color_clean(button_text_color, name="button_text_color"),
        "footer_text": (footer_text or "").strip()[:500],
        "address": (address or "").strip()[:500],
    }
    with transaction.atomic():
        branding, _created = Branding.objects.update_or_create(shop=shop, defaults=values)
    return branding


def preview_customer(*, shop: Shop) -> Customer:
    """Whom the editor's preview shows the email to: the shop's latest buyer (their products,
    their balance), else a sample shopper (unsaved)."""
    latest = (Order.objects.filter(shop=shop, customer__isnull=False).order_by("-processed_at")
              .values_list("customer_id", flat=True).first())
    customer = Customer.objects.filter(shop=shop, pk=latest).select_related("shop").first() if latest else None
    return customer or Customer(shop=shop, first_name="Dana", email="dana@example.com")


def email_preview(*, shop: Shop, flow_key: str, position: int, language: str, content: Content | None = None,
                  now: datetime | None = None) -> email.Rendered:
    """The step's email as the preview customer would get it in ``language``, with ``content``
    (the editor's unsaved words) or the saved ones.  Writes nothing, creates no code."""
    target = email_step_get(shop=shop, flow_key=flow_key, position=position)
    customer = preview_customer(shop=shop)
    now = now or timezone.now()
    values: dict[str, object] = dict(PREVIEW_SAMPLES)
    if target.flow.trigger.startswith("order.") and customer.pk:
        order_id = (Order.objects.filter(shop=shop, customer=customer).order_by("-processed_at")
                    .values_list("pk", flat=True).first())
        if order_id:
            values["order_id"] = order_id
    with_discount = email.discount_planned(target.step)
    try:
        return email.render(step=target.step, customer=customer, values=values,
                            code=PREVIEW_CODE if with_discount else "",
                            ends=email.discount_ends(target.step, now) if with_discount else None,
                            content=content, language=language_checked(language))
    except email.NothingToSend:
        return email.render(step=target.step, customer=customer, values=values, code="", ends=None, products=[],
                            content=content, language=language)


def email_test_send(*, shop: Shop, flow_key: str, position: int, language: str, to: str,
                    content: Content | None = None) -> email.Rendered:
    """"Send me a test": the preview, through the normal email backend, to the merchant."""
    if not to or "@" not in to:
        raise ApplicationError("no email address to send the test to", status=400, code="invalid")
    rendered = email_preview(shop=shop, flow_key=flow_key, position=position, language=language, content=content)
    mail = EmailMultiAlternatives(subject=f"[Test] {rendered.subject}", body=rendered.text, to=[to])
    mail.attach_alternative(rendered.html, "text/html")
    mail.send()
    return rendered

