"""The adapter interface: what the rest of Comeback may ask of a commerce platform.

Nothing outside ``integrations/`` imports a platform client; it asks ``adapter_for(platform)``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from django.http import HttpRequest, HttpResponse

from billing.plans import Plan
from billing.services import SubscriptionState
from commerce.models import Shop
from integrations.models import SyncRun, WebhookDelivery
from integrations.webhooks import InboundWebhook


class DiscountKind:
    FIXED_AMOUNT = "fixed_amount"
    PERCENTAGE = "percentage"
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"


@dataclass(frozen=True)
class DiscountSpec:
    """A single-use discount code to create in the store."""

    code: str
    title: str
    kind: str
    value: Decimal = Decimal("0")  # amount in the shop's currency, or percent (10 = 10 %)
    minimum_subtotal: Decimal | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int = 1
    customer_platform_ids: tuple[str, ...] = ()
    collection_platform_ids: tuple[str, ...] = ()
    product_platform_ids: tuple[str, ...] = ()
    product_variant_platform_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class DiscountCode:
    code: str
    platform_id: str


class DiscountCodeTaken(Exception):
    """The code already exists in the store (codes are unique per shop)."""


class PlatformUnavailable(Exception):
    """The platform could not be reached or asked us to slow down: worth trying again later."""


@dataclass(frozen=True)
class ConsentUpdate:
    """A shopper's marketing consent on one channel ("email" or "sms"), as of ``at``."""

    customer_platform_id: str
    channel: str
    subscribed: bool
    at: datetime


class PlatformAdapter(Protocol):
    platform: str

    def inbound_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundWebhook:
        """Verify a webhook request (raise ``WebhookUnauthorized``) and describe it."""

    def webhook_handle(self, delivery: WebhookDelivery, payload: Any) -> str:
        """Apply one stored delivery to the store mirror."""

    def webhook_group(self, delivery: WebhookDelivery) -> str | None:
        """A name shared by deliveries that ``webhook_handle_group`` applies together (e.g. a
        shop's order topics, in one set-based upsert), or ``None`` for one at a time."""

    def webhook_handle_group(self, deliveries: Sequence[tuple[WebhookDelivery, Any]]) -> list[str]:
        """Apply several deliveries of one shop and one group, in order, with the same effect as
        one by one; raise on any problem (the inbox then applies them one by one)."""

    def shop_details(self, *, shop: Shop) -> dict[str, str]:
        """Name, currency, timezone, locale of the shop."""

    def webhooks_register(self, *, shop: Shop) -> list[str]:
        """Subscribe our inbox to every topic we handle; idempotent."""

    def history_sync_start(self, *, shop: Shop) -> SyncRun:
        """Create (or return the running) history sync."""

    def history_sync_run(self, *, run: SyncRun) -> SyncRun:
        """Fetch the store's history into the mirror; resumable."""

    def reconcile(self, *, shop: Shop) -> dict[str, int]:
        """Fetch what changed since the last high-water mark (catches lost webhooks)."""

    def discount_code_create(self, *, shop: Shop, spec: DiscountSpec) -> DiscountCode:
        """Create a real discount code in the store; ``DiscountCodeTaken`` if it exists."""

    def customer_consent_update(self, *, shop: Shop, update: ConsentUpdate) -> None:
        """Set the shopper's marketing consent in the store, dated ``update.at`` (so the store's
        own record, and its webhooks, carry when it happened).  Raises ``PlatformUnavailable``
        when worth retrying, another error when not."""

    def cart_link(self, *, shop: Shop, variant_platform_ids: Sequence[str]) -> str:
        """A storefront link, for messages, that puts one of each variant in the shopper's cart."""

    def storefront_url(self, *, shop: Shop) -> str:
        """The shop's public storefront, scheme and host (and path), without a trailing slash."""

    def product_url(self, *, shop: Shop, handle: str) -> str:
        """A product's page on the storefront, from its ``handle`` (Shopify's handle, WooCommerce's slug)."""

    def referral_link(self, *, shop: Shop, code: str) -> str:
        """The link a referrer shares: the storefront with ``?ref=<code>``, which the widget reads."""

    def widget_setup_url(self, *, shop: Shop) -> str | None:
        """Where the merchant switches the storefront widget on in their store (Shopify: the theme
        editor's App embeds, deep-linked with ours switched on), or ``None`` when nothing is needed."""

    def discount_apply_link(self, *, shop: Shop, code: str) -> str | None:
        """A storefront link that applies a discount code at checkout, or ``None`` if the platform
        has none (the shopper then types the code)."""

    def subscription_create(
        self, *, shop: Shop, plan: Plan, return_url: str, test: bool
    ) -> tuple[SubscriptionState, str]:
        """Ask the platform's billing for a recurring subscription to ``plan``: the pending
        subscription and the confirmation URL where the merchant approves (or declines) it, after
        which the platform sends them to ``return_url``."""

    def subscription_status(self, *, shop: Shop) -> list[SubscriptionState]:
        """The app's subscriptions the platform reports active for the shop now."""

    def subscription_cancel(self, *, shop: Shop, platform_id: str) -> SubscriptionState:
        """Cancel the subscription (the merchant is no longer billed)."""


@dataclass(frozen=True)
class EmbeddedSession:
    """A merchant verified by the platform's admin: the shop, who (for the audit trail), and the
    parameters every link inside the admin must carry."""

    shop: Shop
    actor: str
    carried: dict[str, str] = field(default_factory=dict)


class EmbeddedAdmin(Protocol):
    """A platform admin our dashboard opens inside (an iframe), and how it proves the merchant."""

    def recognises(self, request: HttpRequest) -> bool:
        """Whether this request comes from inside the platform's admin."""

    def session(self, request: HttpRequest) -> EmbeddedSession | HttpResponse:
        """The verified merchant, or the response that gets proof (e.g. a bounce for a fresh token);
        raises ``ApplicationError`` (401/400) for a forged or mismatched proof."""

    def proof(self, request: HttpRequest) -> dict[str, str]:
        """Parameters a form post or a preview frame carries to prove the merchant (no cookie)."""

    def language(self, request: HttpRequest) -> str:
        """The admin's language for this request ("" when it says none)."""

    def frame_ancestors(self, shop_domain: str | None) -> list[str]:
        """Origins allowed to frame the shop's pages."""

    def frame_headers(self, response: HttpResponse, shop_domain: str | None) -> HttpResponse:
        """Let the admin (only it) frame the response."""

    def head(self) -> dict[str, str]:
        """``meta_name``/``meta_content``/``script`` an embedded page's head loads."""

    def app_url(self, *, shop_domain: str, context: str) -> str:
        """Our app's page inside the admin (``context``: the admin's own parameter), or ''."""


@dataclass(frozen=True)
class PlatformRegistration:
    """Everything the rest of Comeback needs from one platform package.

    Each package under ``integrations/`` is a Django app whose ``ready()`` calls
    :func:`register_platform` once; adding a platform is that folder, its sandbox under
    ``sandbox/`` and its line in ``INSTALLED_APPS``.
    """

    platform: str  # a ``commerce.models.Platform`` value
    adapter: PlatformAdapter
    #: Dotted module whose ``urlpatterns`` are mounted at ``/<platform>/`` (install/connect,
    #: callback, ...).  The webhook inbox is ``POST /webhooks/<platform>`` for every platform.
    urls: str | None = None
    #: Dotted DRF authenticator for the merchant API (e.g. Shopify's session token), tried before
    #: the Django login every platform shares; ``None``: the Django login only.
    merchant_authentication: str | None = None
    #: Dotted DRF authenticator for the shopper API (``/proxy/*``, what the widget calls).  A
    #: request names its platform with ``?platform=`` (Shopify's app proxy, which cannot add one,
    #: is the default).
    shopper_authentication: str | None = None
    #: The storefront path the widget calls, which the platform forwards (signed) to ``/proxy/``.
    widget_endpoint: str = ""
    #: Dotted path to the platform's :class:`EmbeddedAdmin`, when it opens our admin inside its own
    #: (Shopify); ``None``: merchants use our admin with a Django login.
    embedded_admin: str | None = None
    #: Human name shown to merchants and operators.
    label: str = ""
    #: Whether the platform bills app subscriptions with the store's own bill (Shopify does;
    #: WooCommerce has no app billing): the plan page offers the upgrade only then.
    billing: bool = False


_REGISTRY: dict[str, PlatformRegistration] = {}


def register_platform(registration: PlatformRegistration) -> None:
    _REGISTRY[registration.platform] = registration


def platform_registration(platform: str) -> PlatformRegistration:
    try:
        return _REGISTRY[platform]
    except KeyError as error:
        raise LookupError(f"no platform {platform!r} is registered") from error


def platforms_registered() -> list[PlatformRegistration]:
    return list(_REGISTRY.values())


def adapter_for(platform: str) -> PlatformAdapter:
    return platform_registration(platform).adapter
