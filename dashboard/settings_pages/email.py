"""The email editor (one flow step, one language) and the shop's email branding.

The editor edits the subject, the preheader and the content blocks (add, remove, move up and
down: plain form posts that change the unsaved draft, so it works without JavaScript), shows a
live preview (htmx posts the draft; the email is drawn in sandboxed frames at desktop and phone
width, in the language's direction) and sends a test to the merchant.  Saving calls
``campaigns.services.email_content``; the next email of that step uses the merchant's words.

The preview frames load the email as its own document with its own Content-Security-Policy
(inline styles and https images, no scripts, sandboxed): an email is not a dashboard page.
"""

import json
from typing import Any

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from campaigns.selectors import branding_get, email_content_get
from campaigns.services.email_blocks import (
    BLOCK_TYPES,
    MAX_PRODUCTS,
    PLACEHOLDERS,
    Content,
    content_clean,
    default_content,
)
from campaigns.services.email_content import (
    LANGUAGES,
    branding_save,
    email_content_reset,
    email_content_save,
    email_preview,
    email_step_get,
    email_test_send,
)
from dashboard.auth import (
    DashboardAccess,
    dashboard_view,
    embedded_frame_ancestors,
    form_action,
    saved_redirect,
    session_proof,
)
from dashboard.views import render_page
from retention_app.errors import ApplicationError
from retention_app.locale_format import text_direction

VIEW = "dashboard:settings_email"
BRANDING_VIEW = "dashboard:settings_branding"
DRAFT_SALT = "dashboard.email_draft"
FRAMES = {"desktop": 640, "phone": 390}

BLOCK_LABELS = {
    "heading": gettext_lazy("Heading"),
    "text": gettext_lazy("Text"),
    "button": gettext_lazy("Button"),
    "products": gettext_lazy("Products"),
    "discount": gettext_lazy("Discount code"),
    "points": gettext_lazy("Points balance"),
    "order": gettext_lazy("Order summary"),
}
BLOCK_HINTS = {
    "products": gettext_lazy("Pictures, names and links of products: the ones the customer bought, or the step's "
                             "recommendations."),
    "discount": gettext_lazy("The step's single-use code with its percentage and end date (shown only when the step "
                             "creates a code)."),
    "points": gettext_lazy("The customer's points balance (and the points just earned)."),
    "order": gettext_lazy("The order's lines and total (order flows)."),
}
LINK_LABELS = {"store": gettext_lazy("Your store"), "survey": gettext_lazy("The survey"),
               "url": gettext_lazy("Another address")}
SOURCE_LABELS = {"purchased": gettext_lazy("Bought by the customer"),
                 "recommended": gettext_lazy("Recommended for the customer")}


class EmailForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=300,
                              widget=forms.TextInput(attrs={"autocomplete": "off"}))
    preheader = forms.CharField(label=gettext_lazy("Preheader"), max_length=300, required=False,
                                help_text=gettext_lazy("The line inboxes show after the subject."),
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))


def _posted_blocks(data: Any) -> list[dict[str, Any]]:
    """The blocks as posted: ``blocks-N-<field>`` from the page's block forms, or ``blocks`` as
    JSON (the API's field, for scripts).  Raises ``ApplicationError`` 400 on JSON that is not."""
    count = data.get("blocks-count")
    if count is None:
        raw = data.get("blocks")
        if raw is None:
            return []
        try:
            parsed = json.loads(raw)
        except ValueError as error:
            raise ApplicationError(f"blocks is not valid JSON: {error}", status=400, code="invalid") from error
        return parsed if isinstance(parsed, list) else [parsed]
    blocks = []
    for index in range(min(int(count) if str(count).isdigit() else 0, 60)):
        prefix = f"blocks-{index}-"
        block: dict[str, Any] = {"type": data.get(prefix + "type", "")}
        for key in ("text", "link", "url", "source", "limit"):
            if prefix + key in data:
                block[key] = data.get(prefix + key, "")
        blocks.append(block)
    return blocks


def _edited(blocks: list[dict[str, Any]], op: str, language: str) -> list[dict[str, Any]]:
    """An editing action on the unsaved blocks: ``add:<type>``, ``up:N``, ``down:N``, ``remove:N``."""
    action, _sep, argument = op.partition(":")
    blocks = list(blocks)
    if action == "add" and argument in BLOCK_TYPES:
        new: dict[str, Any] = {"type": argument}
        if argument in ("heading", "text"):
            new["text"] = ""
        elif argument == "button":
            with translation.override(language):  # the email's language, not the page's
                new.update({"text": str(_("Visit the store")), "link": "store"})
        elif argument == "products":
            new.update({"source": "purchased", "limit": 3})
        blocks.append(new)
        return blocks
    if not argument.isdigit() or not 0 <= int(argument) < len(blocks):
        return blocks
    index = int(argument)
    if action == "remove":
        del blocks[index]
    elif action == "up" and index > 0:
        blocks[index - 1], blocks[index] = blocks[index], blocks[index - 1]
    elif action == "down" and index < len(blocks) - 1:
        blocks[index + 1], blocks[index] = blocks[index], blocks[index + 1]
    return blocks


def _block_rows(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"index": index, "block": block, "label": BLOCK_LABELS.get(block.get("type", ""), block.get("type")),
             "hint": BLOCK_HINTS.get(block.get("type", ""), ""), "first": index == 0,
             "last": index == len(blocks) - 1} for index, block in enumerate(blocks)]


def _draft_token(content: Content) -> str:
    return signing.dumps({"s": content.subject, "p": content.preheader, "b": content.blocks}, salt=DRAFT_SALT,
                         compress=True)


def _draft_read(token: str) -> Content | None:
    try:
        data = signing.loads(token, salt=DRAFT_SALT, max_age=3600)
    except signing.BadSignature:
        return None
    return Content(subject=data["s"], preheader=data["p"], blocks=data["b"])


def _frame_urls(request: HttpRequest, access: DashboardAccess, args: tuple[Any, ...],
                content: Content | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if content is not None:
        params["draft"] = _draft_token(content)
    params.update(session_proof(request, access))
    return {name: access.url(VIEW, *args, frame=name, **params) for name in FRAMES}


def _frame(request: HttpRequest, access: DashboardAccess, key: str, position: int, language: str) -> HttpResponse:
    """The email alone, as the preview frames load it."""
    draft = _draft_read(request.GET.get("draft", "")) if request.GET.get("draft") else None
    rendered = email_preview(shop=access.shop, flow_key=key, position=position, language=language, content=draft)
    response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
    ancestors = ["'self'", *embedded_frame_ancestors(access)]
    response["Content-Security-Policy"] = (
        f"frame-ancestors {' '.join(ancestors)}; default-src 'none'; style-src 'unsafe-inline'; "
        "img-src https: data:; font-src https:; base-uri 'none'; form-action 'none'; sandbox")
    response.xframe_options_exempt = True  # type: ignore[attr-defined]  # frame-ancestors says who may frame it
    return response


def _test_recipient(request: HttpRequest, access: DashboardAccess) -> str:
    """The logged-in merchant's address; inside the admin (no login of ours), the shop's."""
    user = getattr(request, "user", None)
    if not access.embedded and user is not None and user.is_authenticated and getattr(user, "email", ""):
        return str(user.email)
    return access.shop.email


def _render(request: HttpRequest, access: DashboardAccess, *, key: str, position: int, language: str,
            form: EmailForm, blocks: list[dict[str, Any]], draft: Content | None, status: int = 200,
            error: str = "", notice: str = "") -> HttpResponse:
    target = email_step_get(shop=access.shop, flow_key=key, position=position)
    args = (key, position, language)
    for name in ("subject", "preheader"):  # typed in the email's language, whatever the page's
        form.fields[name].widget.attrs.update({"lang": language, "dir": text_direction(language)})
    saved = email_content_get(shop=access.shop, flow=target.flow, position=position, language=language)
    response = render_page(
        request, access, view_name=VIEW, title=_("Email: %(flow)s") % {"flow": target.flow.name},
        template="dashboard/settings/email.html",
        form=form, action=form_action(request, access, VIEW, *args), block_rows=_block_rows(blocks),
        block_count=len(blocks), block_types=[(kind, BLOCK_LABELS[kind]) for kind in BLOCK_TYPES],
        link_labels=LINK_LABELS, source_labels=SOURCE_LABELS, max_products=MAX_PRODUCTS,
        placeholders=["{" + name + "}" for name in PLACEHOLDERS], flow=target.flow, step=target.step,
        language=language, language_dir=text_direction(language),
        languages=[{"code": code, "name": get_language_info(code)["name_local"], "current": code == language,
                    "url": access.url(VIEW, key, position, code)} for code in LANGUAGES],
        frames=_frame_urls(request, access, args, draft), frame_widths=FRAMES, is_custom=saved is not None,
        flow_url=access.url("dashboard:settings_flow", key), branding_url=access.url(BRANDING_VIEW),
        error=error, notice=notice, test_recipient=_test_recipient(request, access),
    )
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_email(request: HttpRequest, access: DashboardAccess, key: str, position: int,
                   language: str) -> HttpResponse:
    if language not in LANGUAGES:
        raise ApplicationError("unknown language", status=404, code="not_found")
    target = email_step_get(shop=access.shop, flow_key=key, position=position)
    if request.method == "GET":
        if request.GET.get("frame") in FRAMES:
            return _frame(request, access, key, position, language)
        saved = email_content_get(shop=access.shop, flow=target.flow, position=position, language=language)
        content = (Content(subject=saved.subject, preheader=saved.preheader, blocks=list(saved.blocks)) if saved
                   else default_content(template=target.step.template, language=language))
        form = EmailForm(initial={"subject": content.subject, "preheader": content.preheader})
        return _render(request, access, key=key, position=position, language=language, form=form,
                       blocks=content.blocks, draft=None)
    op = request.POST.get("op", "save")
    form = EmailForm(request.POST)
    blocks = _posted_blocks(request.POST)
    if op == "reset":
        email_content_reset(shop=access.shop, flow_key=key, position=position, language=language)
        return saved_redirect(access, VIEW, key, position, language)
    if op.partition(":")[0] in ("add", "up", "down", "remove"):
        return _render(request, access, key=key, position=position, language=language, form=form,
                       blocks=_edited(blocks, op, language), draft=None)
    if op == "preview":  # a block just added and not written yet is no error while typing
        blocks = [block for block in blocks if not (isinstance(block, dict) and block.get("type") in
                                                    ("heading", "text") and not str(block.get("text", "")).strip())]
    try:
        content = content_clean(subject=request.POST.get("subject", ""), preheader=request.POST.get("preheader", ""),
                                blocks=blocks)
    except ApplicationError as error:
        if op == "preview":
            return render(request, "dashboard/settings/_email_preview.html",
                          {"error": error.message, "frames": {}, "frame_widths": FRAMES}, status=400)
        form.is_valid()
        return _render(request, access, key=key, position=position, language=language, form=form, blocks=blocks,
                       draft=None, status=400, error=error.message)
    if op == "preview":
        return render(request, "dashboard/settings/_email_preview.html", {
            "frames": _frame_urls(request, access, (key, position, language), content), "frame_widths": FRAMES,
            "language_dir": text_direction(language)})
    if op == "test":
        recipient = _test_recipient(request, access)
        try:
            email_test_send(shop=access.shop, flow_key=key, position=position, language=language, to=recipient,
                            content=content)
        except ApplicationError as error:
            return _render(request, access, key=key, position=position, language=language, form=form,
                           blocks=content.blocks, draft=content, status=400, error=error.message)
        return _render(request, access, key=key, position=position, language=language, form=form,
                       blocks=content.blocks, draft=content,
                       notice=_("A test was sent to %(address)s.") % {"address": recipient})
    email_content_save(shop=access.shop, flow_key=key, position=position, language=language,
                       subject=content.subject, preheader=content.preheader, blocks=content.blocks)
    return saved_redirect(access, VIEW, key, position, language)


# --- branding ------------------------------------------------------------------------------------

def _color_input(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "placeholder": placeholder, "maxlength": 7})


class BrandingForm(forms.Form):
    logo_url = forms.URLField(label=gettext_lazy("Logo address"), required=False, max_length=500, assume_scheme="https",
                              help_text=gettext_lazy("An https:// address of your logo image (your store's files "
                                                     "or CDN). Empty: your shop's name in bold."),
                              widget=forms.URLInput(attrs={"dir": "ltr", "placeholder": "https://"}))
    primary_color = forms.CharField(label=gettext_lazy("Button and link colour"), max_length=7,
                                    help_text=gettext_lazy("As #RRGGBB."), widget=_color_input("#1f6f5c"))
    button_text_color = forms.CharField(label=gettext_lazy("Button text colour"), max_length=7,
                                        help_text=gettext_lazy("As #RRGGBB; keep it readable on the button."),
                                        widget=_color_input("#ffffff"))
    accent_color = forms.CharField(label=gettext_lazy("Accent colour"), max_length=7,
                                   help_text=gettext_lazy("The frame around discount codes, as #RRGGBB."),
                                   widget=_color_input("#f4b400"))
    footer_text = forms.CharField(label=gettext_lazy("Footer text"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    address = forms.CharField(label=gettext_lazy("Business address"), max_length=500, required=False,
                              help_text=gettext_lazy("Shown in every email's footer; anti-spam laws require it in "
                                                     "marketing emails."),
                              widget=forms.Textarea(attrs={"rows": 2}))


def _branding_render(request: HttpRequest, access: DashboardAccess, form: BrandingForm,
                     status: int = 200) -> HttpResponse:
    response = render_page(request, access, view_name=BRANDING_VIEW, title=_("Email branding"),
                           template="dashboard/settings/branding.html", form=form,
                           action=form_action(request, access, BRANDING_VIEW),
                           flows_url=access.url("dashboard:settings_flows"))
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_branding(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method == "POST":
        form = BrandingForm(request.POST)
        if form.is_valid():
            try:
                branding_save(shop=access.shop, **form.cleaned_data)
            except ApplicationError as error:
                field = next((name for name in form.fields if error.message.startswith(name)), None)
                form.add_error(field, error.message)
            else:
                return saved_redirect(access, BRANDING_VIEW)
        return _branding_render(request, access, form, status=400)
    brand = branding_get(shop=access.shop)
    return _branding_render(request, access, BrandingForm(initial={
        name: getattr(brand, name) for name in BrandingForm.base_fields}))
