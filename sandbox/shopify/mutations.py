"""Mutation resolvers: bulk operations, webhook subscriptions, discount codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from graphql import GraphQLError, GraphQLResolveInfo

from .billing import BillingError
from .common import parse_gid

if TYPE_CHECKING:
    from .schema import Ctx
    from .store import Shop

JSON = dict[str, Any]


def _ctx(info: GraphQLResolveInfo) -> Ctx:
    return info.context  # type: ignore[no-any-return]


def _shop(info: GraphQLResolveInfo) -> Shop:
    shop = _ctx(info).shop
    if shop is None:
        raise GraphQLError("not available here")
    return shop


def _require(info: GraphQLResolveInfo, scope: str, name: str) -> None:
    from .schema import require_scope

    require_scope(_ctx(info), scope, name)


# --- bulk --------------------------------------------------------------------------------------


def r_bulk_run(_: Any, info: GraphQLResolveInfo, query: str, groupObjects: bool | None = None  # noqa: N803
               ) -> JSON:
    ctx = _ctx(info)
    if ctx.bulk is None:
        raise GraphQLError("bulk operations are not available here")
    operation, errors = ctx.bulk.run(_shop(info), query, ctx, group_objects=groupObjects)
    return {"bulkOperation": operation, "userErrors": errors}


def r_bulk_cancel(_: Any, info: GraphQLResolveInfo, id: str) -> JSON:  # noqa: A002
    ctx = _ctx(info)
    if ctx.bulk is None:
        raise GraphQLError("bulk operations are not available here")
    operation, errors = ctx.bulk.cancel(_shop(info), id)
    return {"bulkOperation": operation, "userErrors": errors}


# --- webhooks ----------------------------------------------------------------------------------


def _valid_address(uri: str) -> bool:
    if uri.startswith(("pubsub://", "arn:aws:events:")):
        return True
    parsed = urlparse(uri)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def r_webhook_create(_: Any, info: GraphQLResolveInfo, topic: str,
                     webhookSubscription: JSON) -> JSON:  # noqa: N803
    shop = _shop(info)
    uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
    field = ["webhookSubscription", "callbackUrl"]
    if not uri:
        return {"webhookSubscription": None,
                "userErrors": [{"field": field, "message": "Address can't be blank"}]}
    if not _valid_address(str(uri)):
        return {"webhookSubscription": None,
                "userErrors": [{"field": field, "message": "Address is invalid"}]}
    with shop.lock:
        if any(s.topic == topic and s.uri == uri for s in shop.subscriptions.values()):
            return {"webhookSubscription": None, "userErrors": [
                {"field": field, "message": "Address for this topic has already been taken"}]}
        sub = shop.add_subscription(topic, str(uri), webhookSubscription.get("format") or "JSON")
    return {"webhookSubscription": sub, "userErrors": []}


def r_webhook_update(_: Any, info: GraphQLResolveInfo, id: str,  # noqa: A002
                     webhookSubscription: JSON) -> JSON:  # noqa: N803
    shop = _shop(info)
    sub = shop.subscriptions.get(parse_gid(id, "WebhookSubscription") or 0)
    if sub is None:
        return {"webhookSubscription": None, "userErrors": [
            {"field": ["id"], "message": "Webhook subscription does not exist"}]}
    uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
    if uri:
        if not _valid_address(str(uri)):
            return {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "callbackUrl"],
                 "message": "Address is invalid"}]}
        sub.uri = str(uri)
    if webhookSubscription.get("format"):
        sub.format = webhookSubscription["format"]
    sub.updated_at = shop.now()
    return {"webhookSubscription": sub, "userErrors": []}


def r_webhook_delete(_: Any, info: GraphQLResolveInfo, id: str) -> JSON:  # noqa: A002
    shop = _shop(info)
    with shop.lock:
        sub = shop.subscriptions.pop(parse_gid(id, "WebhookSubscription") or 0, None)
    if sub is None:
        return {"deletedWebhookSubscriptionId": None, "userErrors": [
            {"field": ["id"], "message": "Webhook subscription does not exist"}]}
    return {"deletedWebhookSubscriptionId": sub.gid, "userErrors": []}


# --- discounts ---------------------------------------------------------------------------------


def _err(path: list[str], message: str, code: str) -> JSON:
    return {"field": path, "message": message, "code": code, "extraInfo": None}


def _validate_value(prefix: str, gets: JSON | None, errors: list[JSON], required: bool) -> None:
    value = (gets or {}).get("value")
    if not value:
        if required:
            errors.append(_err([prefix, "customerGets"], "Customer gets can't be blank", "BLANK"))
        return
    pct = value.get("percentage")
    if pct is not None and not 0 < pct <= 1:
        errors.append(_err([prefix, "customerGets", "value", "percentage"],
                           "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE"))
    amount = (value.get("discountAmount") or {}).get("amount")
    if amount is not None and Decimal(str(amount)) <= 0:
        errors.append(_err([prefix, "customerGets", "value", "discountAmount", "amount"],
                           "Value must be greater than 0", "GREATER_THAN"))
    on_qty = value.get("discountOnQuantity")
    if on_qty is not None:
        effect_pct = (on_qty.get("effect") or {}).get("percentage")
        if effect_pct is not None and not 0 < effect_pct <= 1:
            errors.append(_err(
                [prefix, "customerGets", "value", "discountOnQuantity", "effect", "percentage"],
                "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE"))


def _validate_customers(shop: Shop, prefix: str, data: JSON, errors: list[JSON]) -> None:
    for key in ("customerSelection", "context"):
        added = ((data.get(key) or {}).get("customers") or {}).get("add") or []
        if len(added) > 250:
            errors.append(_err([prefix, key, "customers", "add"],
                               "Input array size is greater than 250", "TOO_MANY_ARGUMENTS"))
            continue
        for customer_gid in added:
            ident = parse_gid(customer_gid, "Customer")
            if ident is None or shop.get_customer(ident) is None:
                errors.append(_err([prefix, key, "customers", "add"],
                                   f"Customer {customer_gid} does not exist", "INVALID"))


def _discount_create(kind: str, arg: str, mutation: str) -> Callable[..., JSON]:
    def resolve(_: Any, info: GraphQLResolveInfo, **kwargs: Any) -> JSON:
        _require(info, "write_discounts", mutation)
        shop = _shop(info)
        data: JSON = dict(kwargs[arg])
        errors: list[JSON] = []
        title = (data.get("title") or "").strip()
        code = (data.get("code") or "").strip()
        if not title:
            errors.append(_err([arg, "title"], "Title can't be blank", "BLANK"))
        if not code:
            errors.append(_err([arg, "code"], "Code can't be blank", "BLANK"))
        elif len(code) > 255:
            errors.append(_err([arg, "code"], "Code is too long (maximum is 255 characters)",
                               "TOO_LONG"))
        elif "\n" in code or "\r" in code:
            errors.append(_err([arg, "code"], "Code cannot contain newline characters.",
                               "INVALID"))
        starts, ends = data.get("startsAt"), data.get("endsAt")
        if starts is not None and ends is not None and ends <= starts:
            errors.append(_err([arg, "endsAt"], "Ends at needs to be after starts_at",
                               "INVALID"))
        limit = data.get("usageLimit")
        if limit is not None and limit <= 0:
            errors.append(_err([arg, "usageLimit"], "Usage limit must be greater than 0",
                               "GREATER_THAN"))
        if kind != "free_shipping":
            _validate_value(arg, data.get("customerGets"), errors, required=True)
        if kind == "bxgy" and not (data.get("customerBuys") or {}).get("value"):
            errors.append(_err([arg, "customerBuys"], "Customer buys can't be blank", "BLANK"))
        _validate_customers(shop, arg, data, errors)
        with shop.lock:
            if code and shop.discount_by_code(code) is not None:
                errors.append(_err([arg, "code"],
                                   "Code must be unique. Please try a different code.", "TAKEN"))
            if errors:
                return {"codeDiscountNode": None, "userErrors": errors}
            node = shop.add_discount(kind, code, title, data)
        return {"codeDiscountNode": node, "userErrors": []}

    return resolve


def r_discount_delete(_: Any, info: GraphQLResolveInfo, id: str) -> JSON:  # noqa: A002
    _require(info, "write_discounts", "discountCodeDelete")
    shop = _shop(info)
    ident = parse_gid(id, "DiscountCodeNode")
    if ident is None or not shop.remove_discount(ident):
        return {"deletedCodeDiscountId": None,
                "userErrors": [_err(["id"], "Discount does not exist", "INVALID")]}
    return {"deletedCodeDiscountId": id, "userErrors": []}


# --- marketing consent ---------------------------------------------------------------------------

CONSENT_INPUT_STATES = {"email": ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING"),
                        "sms": ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING")}


def _consent_update(channel: str, key: str, mutation: str) -> Callable[..., JSON]:
    """``customerEmailMarketingConsentUpdate`` / ``customerSmsMarketingConsentUpdate``: the store
    records the state, opt-in level and ``consentUpdatedAt`` (now when not given; not in the
    future) and emits ``customers/update`` carrying the new consent."""

    def resolve(_: Any, info: GraphQLResolveInfo, input: JSON) -> JSON:  # noqa: A002
        _require(info, "write_customers", mutation)
        shop = _shop(info)
        consent: JSON = dict(input.get(key) or {})
        ident = parse_gid(str(input.get("customerId") or ""), "Customer")
        customer = shop.get_customer(ident) if ident is not None else None
        if customer is None:
            return {"customer": None, "userErrors": [_err(["input", "customerId"], "Customer not found", "INVALID")]}
        if not (customer.email if channel == "email" else customer.phone):
            what = "an email address" if channel == "email" else "a phone number"
            return {"customer": None, "userErrors": [
                _err(["input", "customerId"], f"Customer must have {what}", "INVALID")]}
        state = str(consent.get("marketingState") or "")
        if state not in CONSENT_INPUT_STATES[channel]:
            return {"customer": None, "userErrors": [
                _err(["input", key, "marketingState"], f"Marketing state {state} is not allowed", "INCLUSION")]}
        at = consent.get("consentUpdatedAt")
        if at is not None and at > shop.now() + timedelta(minutes=1):
            return {"customer": None, "userErrors": [
                _err(["input", key, "consentUpdatedAt"], "Consent updated at cannot be in the future", "INVALID")]}
        updated = shop.set_marketing_consent(customer.id, channel=channel, state=state,
                                             opt_in_level=consent.get("marketingOptInLevel"), at=at)
        return {"customer": updated, "userErrors": []}

    return resolve


# --- billing -------------------------------------------------------------------------------------

def r_app_subscription_create(_: Any, info: GraphQLResolveInfo, name: str, lineItems: list[JSON],  # noqa: N803
                              returnUrl: str, test: bool | None = None, trialDays: int | None = None,  # noqa: N803
                              replacementBehavior: str | None = None) -> JSON:  # noqa: N803
    subscription, url, errors = _shop(info).billing.create(
        name=name, line_items=lineItems, return_url=returnUrl, test=bool(test), trial_days=trialDays or 0,
        api_key=_ctx(info).api_key)
    return {"appSubscription": subscription, "confirmationUrl": url, "userErrors": errors}


def r_app_subscription_cancel(_: Any, info: GraphQLResolveInfo, id: str, prorate: bool | None = None  # noqa: A002
                              ) -> JSON:
    ident = parse_gid(id, "AppSubscription")
    try:
        if ident is None:
            raise BillingError("Invalid subscription id")
        subscription = _shop(info).billing.cancel(ident)
    except BillingError as error:
        return {"appSubscription": None, "userErrors": [{"field": ["id"], "message": str(error)}]}
    return {"appSubscription": subscription, "userErrors": []}


MUTATIONS: dict[str, Callable[..., Any]] = {
    "appSubscriptionCreate": r_app_subscription_create,
    "appSubscriptionCancel": r_app_subscription_cancel,
    "bulkOperationRunQuery": r_bulk_run,
    "bulkOperationCancel": r_bulk_cancel,
    "webhookSubscriptionCreate": r_webhook_create,
    "webhookSubscriptionUpdate": r_webhook_update,
    "webhookSubscriptionDelete": r_webhook_delete,
    "discountCodeBasicCreate": _discount_create("basic", "basicCodeDiscount",
                                                "discountCodeBasicCreate"),
    "discountCodeFreeShippingCreate": _discount_create(
        "free_shipping", "freeShippingCodeDiscount", "discountCodeFreeShippingCreate"),
    "discountCodeBxgyCreate": _discount_create("bxgy", "bxgyCodeDiscount",
                                               "discountCodeBxgyCreate"),
    "discountCodeDelete": r_discount_delete,
    "customerEmailMarketingConsentUpdate": _consent_update(
        "email", "emailMarketingConsent", "customerEmailMarketingConsentUpdate"),
    "customerSmsMarketingConsentUpdate": _consent_update(
        "sms", "smsMarketingConsent", "customerSmsMarketingConsentUpdate"),
}
