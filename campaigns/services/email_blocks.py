"""An email's content as blocks (heading, text, button, products, discount code, points balance,
the order), validated, and the built-in copy of every flow email as blocks in the shopper's
language, which the merchant's own words (``EmailContent``) replace step by step.

Texts are plain text with placeholders in braces, ``{first_name}``, ``{shop}``, ``{order}``,
``{points}``, ``{balance}``, ``{tier}``, ``{code}``, ``{percent}``...: the merchant types no HTML.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from campaigns.services.copy import COPY
from retention_app.errors import ApplicationError

BLOCK_TYPES = ("heading", "text", "button", "products", "discount", "points", "order")
LINKS = ("store", "survey", "url")
PRODUCT_SOURCES = ("purchased", "recommended")
MAX_BLOCKS = 30
MAX_TEXT = 2000
MAX_PRODUCTS = 6
# What the merchant may write in braces; anything else stays as typed.
PLACEHOLDERS = ("first_name", "shop", "order", "points", "balance", "tier", "code", "percent", "product",
                "launch", "holiday", "holiday_subject")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Blocks that mention the code (or its percentage) are left out of a message that has no code.
NEEDS_CODE = re.compile(r"\{(code|percent)\}")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Content:
    """What one email says: the subject, the line inboxes show after it, and the blocks."""

    subject: str
    preheader: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, status=400, code="invalid")


def _text(block: Mapping[str, Any], key: str, *, required: bool, position: int) -> str:
    value = block.get(key, "")
    if not isinstance(value, str):
        raise _invalid(f"block {position + 1}: {key} must be text")
    value = value.strip()
    if "\x00" in value:  # PostgreSQL stores no NUL, in text or in JSON
        raise _invalid(f"block {position + 1}: {key} contains a NUL character")
    if required and not value:
        raise _invalid(f"block {position + 1}: {key} is required")
    if len(value) > MAX_TEXT:
        raise _invalid(f"block {position + 1}: {key} is longer than {MAX_TEXT} characters")
    return value


def blocks_clean(raw: Any) -> list[dict[str, Any]]:
    """The blocks as they are stored, or a 400 ``invalid`` error naming the first wrong block."""
    if not isinstance(raw, list):
        raise _invalid("blocks must be a list")
    if len(raw) > MAX_BLOCKS:
        raise _invalid(f"at most {MAX_BLOCKS} blocks")
    cleaned: list[dict[str, Any]] = []
    for position, block in enumerate(raw):
        if not isinstance(block, dict):
            raise _invalid(f"block {position + 1} must be an object")
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            raise _invalid(f"block {position + 1}: unknown type {str(kind)[:30]!r}")
        item: dict[str, Any] = {"type": kind}
        if kind in ("heading", "text"):
            item["text"] = _text(block, "text", required=True, position=position)
        elif kind == "button":
            item["text"] = _text(block, "text", required=True, position=position)
            link = block.get("link", "store")
            if link not in LINKS:
                raise _invalid(f"block {position + 1}: link must be one of {', '.join(LINKS)}")
            item["link"] = link
            if link == "url":
                url = _text(block, "url", required=True, position=position)
                if not re.match(r"^https?://[^\s<>\"']+$", url):
                    raise _invalid(f"block {position + 1}: url must start with https://")
                item["url"] = url
        elif kind == "products":
            source = block.get("source", "purchased")
            if source not in PRODUCT_SOURCES:
                raise _invalid(f"block {position + 1}: source must be one of {', '.join(PRODUCT_SOURCES)}")
            limit = block.get("limit", 3)
            if isinstance(limit, str) and limit.isdigit():
                limit = int(limit)
            if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PRODUCTS:
                raise _invalid(f"block {position + 1}: limit must be a whole number from 1 to {MAX_PRODUCTS}")
            item.update({"source": source, "limit": limit})
            title = _text(block, "text", required=False, position=position)
            if title:
                item["text"] = title
        cleaned.append(item)
    return cleaned


def content_clean(*, subject: Any, preheader: Any, blocks: Any) -> Content:
    if not isinstance(subject, str) or not subject.strip():
        raise _invalid("subject is required")
    if len(subject.strip()) > 300:
        raise _invalid("subject is longer than 300 characters")
    if not isinstance(preheader, str) or len(preheader.strip()) > 300:
        raise _invalid("preheader must be text of at most 300 characters")
    if "\x00" in subject or "\x00" in preheader:
        raise _invalid("subject and preheader may not contain a NUL character")
    return Content(subject=subject.strip(), preheader=preheader.strip(), blocks=blocks_clean(blocks))


def color_clean(value: Any, *, name: str) -> str:
    if not isinstance(value, str) or not COLOR.match(value.strip()):
        raise _invalid(f"{name} must be a colour like #1f6f5c")
    return value.strip().lower()


# --- the built-in copy as blocks -------------------------------------------------------------

HELLO = _("Hello %(first_name)s,")
SHOP_NOW = _("Visit the store")
USE_POINTS = _("Use your points")
SURVEY = _("Answer three quick questions")

# The longer emails (which had templates of their own), as blocks; the words are the same
# translated sentences as before.
LONG: dict[str, dict[str, Any]] = {
    "order_thank_you": {
        "subject": _("Thank you for your order %(name)s"),
        "preheader": _("We will let you know when it ships."),
        "blocks": [
            {"type": "heading", "text": _("Thank you for your order %(name)s")},
            {"type": "text", "text": HELLO},
            {"type": "text", "text": _("Thank you for your order %(name)s. Here is what you ordered:")},
            {"type": "order"},
            {"type": "text", "text": _("We will let you know when it ships.")},
            {"type": "button", "text": SHOP_NOW, "link": "store"},
        ],
    },
    "bounce_back": {
        "subject": _("%(first_name)s, add to your order before it ships"),
        "preheader": _("Thank you for your first order! Picked for you:"),
        "blocks": [
            {"type": "text", "text": HELLO},
            {"type": "text", "text": _("Thank you for your first order! Picked for you:")},
            {"type": "products", "source": "recommended", "limit": 3},
            {"type": "text", "text": _("Order again today with %(percent)s%% off and we ship it together:")},
            {"type": "discount"},
        ],
    },
    "winback": {
        "subject": _("We miss you, %(first_name)s"),
        "preheader": _("It has been a while. Last time you chose:"),
        "blocks": [
            {"type": "heading", "text": _("We miss you, %(first_name)s")},
            {"type": "text", "text": _("It has been a while. Last time you chose:")},
            {"type": "products", "source": "purchased", "limit": 3},
            {"type": "text", "text": _("Come back with %(percent)s%% off:")},
            {"type": "discount"},
            {"type": "button", "text": SHOP_NOW, "link": "store"},
        ],
    },
}

LOYALTY_TEMPLATES = {"loyalty_points_earned", "loyalty_tier_reached", "loyalty_points_expiring"}
# The built-in names ``%(name)s`` of the long templates' sentences, as the merchant sees them.
RENAMED = {"name": "order"}


def placeholders(text: Any) -> str:
    """A built-in sentence (``%(first_name)s``, ``%%``) in the merchant's brace form."""
    text = str(text)
    text = re.sub(r"%\((\w+)\)s", lambda match: "{" + RENAMED.get(match.group(1), match.group(1)) + "}", text)
    return text.replace("%%", "%")


def _copy_blocks(template: str) -> list[dict[str, Any]]:
    copy = COPY[template]
    paragraphs = list(copy["paragraphs"])
    blocks: list[dict[str, Any]] = [{"type": "heading", "text": copy["subject"]}]
    for paragraph in paragraphs:
        if str(paragraph) == str(copy["subject"]):  # the holiday greeting is its own heading
            continue
        blocks.append({"type": "text", "text": paragraph})
    if template in LOYALTY_TEMPLATES:
        blocks.append({"type": "points"})
    if template == "review_request":
        blocks.append({"type": "button", "text": SURVEY, "link": "survey"})
    if any("%(code)s" in str(paragraph) for paragraph in paragraphs):  # shown when the step has a code
        blocks.append({"type": "discount"})
    if template in ("review_request",):
        return blocks
    blocks.append({"type": "button", "text": USE_POINTS if template in LOYALTY_TEMPLATES else SHOP_NOW,
                   "link": "store"})
    return blocks


def default_content(*, template: str, language: str) -> Content:
    """The built-in email of ``template`` in ``language``, as the merchant's editor starts from it."""
    with translation.override(language):
        if template in LONG:
            spec = LONG[template]
            subject, preheader, blocks = spec["subject"], spec["preheader"], spec["blocks"]
        elif template in COPY:
            subject, preheader = COPY[template]["subject"], ""
            blocks = _copy_blocks(template)
        else:
            subject, preheader, blocks = "{shop}", "", [{"type": "button", "text": SHOP_NOW, "link": "store"}]
        return Content(
            subject=placeholders(subject), preheader=placeholders(preheader),
            blocks=[{key: placeholders(value) if key == "text" else value for key, value in block.items()}
                    for block in blocks],
        )
