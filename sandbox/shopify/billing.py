"""Shopify's Billing API for one shop: recurring app subscriptions the merchant approves or
declines on a confirmation page, the installation's active subscriptions, cancel, and the
``app_subscriptions/update`` webhook on every change of status.

Statuses follow ``AppSubscriptionStatus``: PENDING (created, waiting for the merchant), ACTIVE
(approved), DECLINED, CANCELLED (by the app, by uninstalling, or replaced by a newer subscription),
FROZEN (the store's own bill is unpaid; ACTIVE again when paid) and EXPIRED (not approved in time).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from .common import gid, rest_time

STATUSES = ("PENDING", "ACTIVE", "DECLINED", "EXPIRED", "FROZEN", "CANCELLED")
FIRST_ID = 29_000_000_000


@dataclass
class AppSubscription:
    id: int
    name: str
    status: str
    test: bool
    trial_days: int
    return_url: str
    price: Decimal
    currency: str
    interval: str
    created_at: datetime
    updated_at: datetime
    signature: str  # in the confirmation URL: only the link Shopify gave the app opens the page
    current_period_end: datetime | None = None

    @property
    def gid(self) -> str:
        return gid("AppSubscription", self.id)


class BillingError(Exception):
    pass


class ShopBilling:
    """The app's subscriptions in one shop.  ``emit(topic, payload)`` sends the shop's webhooks,
    ``now()`` is the shop's clock and ``origin`` its admin's address."""

    def __init__(self, *, shop_id: int, origin: Callable[[], str], now: Callable[[], datetime],
                 emit: Callable[[str, dict[str, Any]], None], tz: Callable[[], Any]) -> None:
        self.shop_id = shop_id
        self._origin = origin
        self._now = now
        self._emit = emit
        self._tz = tz
        self.lock = threading.RLock()
        self.subscriptions: dict[int, AppSubscription] = {}
        self._next_id = FIRST_ID

    # --- the Admin API --------------------------------------------------------------------------

    def create(self, *, name: str, line_items: list[dict[str, Any]], return_url: str, test: bool,
               trial_days: int, api_key: str) -> tuple[AppSubscription | None, str | None, list[dict[str, Any]]]:
        """``appSubscriptionCreate``: a PENDING subscription and its confirmation URL, or userErrors."""
        errors: list[dict[str, Any]] = []
        if not name.strip():
            errors.append({"field": ["name"], "message": "Name can't be blank"})
        if not urlparse(return_url).scheme.startswith("http"):
            errors.append({"field": ["returnUrl"], "message": "Return url is invalid"})
        if trial_days < 0:
            errors.append({"field": ["trialDays"], "message": "Trial days must be greater than or equal to 0"})
        recurring = [item.get("plan", {}).get("appRecurringPricingDetails") for item in line_items]
        recurring = [details for details in recurring if details]
        if len(recurring) != 1:
            errors.append({"field": ["lineItems"], "message": "One recurring pricing line item is required"})
            return None, None, errors
        details = recurring[0]
        try:
            price = Decimal(str(details["price"]["amount"]))
        except (KeyError, InvalidOperation, TypeError):
            price = Decimal("-1")
        if price < 0:
            errors.append({"field": ["lineItems", "0", "plan", "appRecurringPricingDetails", "price"],
                           "message": "Price must be greater than or equal to 0"})
        if errors:
            return None, None, errors
        with self.lock:
            now = self._now()
            subscription = AppSubscription(
                id=self._next_id, name=name, status="PENDING", test=bool(test), trial_days=trial_days,
                return_url=return_url, price=price, currency=str(details["price"].get("currencyCode") or "USD"),
                interval=str(details.get("interval") or "EVERY_30_DAYS"), created_at=now, updated_at=now,
                signature=secrets.token_urlsafe(16))
            self._next_id += 1
            self.subscriptions[subscription.id] = subscription
        self._emit("app_subscriptions/update", self.payload(subscription))
        return subscription, self.confirmation_url(subscription, api_key), []

    def confirmation_url(self, subscription: AppSubscription, api_key: str) -> str:
        return (f"{self._origin()}/admin/charges/{api_key}/{subscription.id}/RecurringApplicationCharge/"
                f"confirm_recurring_application_charge?{urlencode({'signature': subscription.signature})}")

    def active(self) -> list[AppSubscription]:
        """``currentAppInstallation.activeSubscriptions``."""
        with self.lock:
            return [s for s in self.subscriptions.values() if s.status == "ACTIVE"]

    def cancel(self, subscription_id: int) -> AppSubscription:
        """``appSubscriptionCancel``: only an ACTIVE (or FROZEN) subscription can be cancelled."""
        subscription = self.get(subscription_id)
        if subscription.status not in ("ACTIVE", "FROZEN"):
            raise BillingError(f"Subscription is {subscription.status.lower()} and cannot be cancelled")
        return self.set_status(subscription_id, "CANCELLED")

    # --- the merchant and the store ---------------------------------------------------------------

    def get(self, subscription_id: int) -> AppSubscription:
        subscription = self.subscriptions.get(int(subscription_id))
        if subscription is None:
            raise BillingError(f"no app subscription {subscription_id}")
        return subscription

    def decide(self, subscription_id: int, *, approve: bool) -> AppSubscription:
        """The merchant approves or declines on the confirmation page; an approved subscription
        replaces the app's active one (Shopify's default replacement behaviour)."""
        subscription = self.get(subscription_id)
        if subscription.status != "PENDING":
            raise BillingError(f"This charge is {subscription.status.lower()}, not pending")
        if not approve:
            return self.set_status(subscription_id, "DECLINED")
        for other in self.active():
            if other.id != subscription.id:
                self.set_status(other.id, "CANCELLED")
        return self.set_status(subscription_id, "ACTIVE")

    def set_status(self, subscription_id: int, status: str) -> AppSubscription:
        """Move a subscription on (also what the control API does: FROZEN, EXPIRED, ACTIVE again)
        and send ``app_subscriptions/update``; ``updated_at`` moves strictly forward."""
        if status not in STATUSES:
            raise BillingError(f"unknown status {status}")
        with self.lock:
            subscription = self.get(subscription_id)
            now = self._now()
            subscription.status = status
            subscription.updated_at = max(now, subscription.updated_at + timedelta(seconds=1))
            if status == "ACTIVE" and subscription.current_period_end is None:
                days = subscription.trial_days or 30
                subscription.current_period_end = subscription.updated_at + timedelta(days=days)
            payload = self.payload(subscription)
        self._emit("app_subscriptions/update", payload)
        return subscription

    def uninstalled(self) -> None:
        """Uninstalling cancels the app's subscriptions (no webhook: the app is gone)."""
        with self.lock:
            for subscription in self.subscriptions.values():
                if subscription.status in ("ACTIVE", "FROZEN", "PENDING"):
                    subscription.status = "CANCELLED"
                    subscription.updated_at = max(self._now(), subscription.updated_at + timedelta(seconds=1))

    def return_location(self, subscription: AppSubscription) -> str:
        """The app's ``returnUrl`` with ``charge_id`` added, where Shopify sends the merchant."""
        parts = urlparse(subscription.return_url)
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("charge_id", str(subscription.id))]
        return urlunparse(parts._replace(query=urlencode(query)))

    def payload(self, subscription: AppSubscription) -> dict[str, Any]:
        """The ``app_subscriptions/update`` body, as Shopify sends it."""
        tz = self._tz()
        return {"app_subscription": {
            "admin_graphql_api_id": subscription.gid,
            "name": subscription.name,
            "status": subscription.status,
            "admin_graphql_api_shop_id": gid("Shop", self.shop_id),
            "created_at": rest_time(subscription.created_at, tz),
            "updated_at": rest_time(subscription.updated_at, tz),
            "currency": subscription.currency,
            "capped_amount": None,
        }}
