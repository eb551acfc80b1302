"""A WooCommerce store's connection: the wc-auth handshake, the REST keys it produced, the
plugin's secret, and the webhooks we created in the store.

Every secret is an ``EncryptedTextField``: the database never holds a key in clear.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from commerce.models import Shop
from retention_app.fields import EncryptedTextField


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the store")
    CONNECTED = "connected", _("Connected")
    REPLACED = "replaced", _("Replaced by a newer connection")
    REFUSED = "refused", _("Refused")
    DISCONNECTED = "disconnected", _("Disconnected by the merchant")


class WooConnection(models.Model):
    """One wc-auth handshake and, once WooCommerce has posted the keys, the shop's credentials.

    ``state`` is the ``user_id`` we send to wc-auth, which WooCommerce echoes in the unsigned
    key POST: it ties that POST to this pending row.  ``shop`` is set (one connection per shop)
    only when the keys have been verified against the store.
    """

    shop = models.OneToOneField(Shop, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="woocommerce_connection")
    store_url = models.URLField(max_length=255)
    domain = models.CharField(max_length=255)
    state = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING)
    # The plugin's settings page, when the plugin started the connect (on the store's host).
    return_url = models.URLField(max_length=1000, blank=True)
    consumer_key = EncryptedTextField(blank=True, default="")
    consumer_secret = EncryptedTextField(blank=True, default="")
    plugin_secret = EncryptedTextField(blank=True, default="")
    key_id = models.CharField(max_length=32, blank=True)
    key_permissions = models.CharField(max_length=20, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    # Who started it: the browser (its session) and, when logged in, the user.
    session_key = models.CharField(max_length=64, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # The merchant who owns the connected shop in our dashboard.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    # The browser came back (``/connected``): it was logged in or sent to the plugin once.
    returned_at = models.DateTimeField(null=True, blank=True)
    # The plugin's single-use claim code (sha256 of it; the code itself only went to the browser).
    claim_code_hash = models.CharField(max_length=64, blank=True, db_index=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["domain", "status"])]

    def __str__(self) -> str:
        return f"{self.domain} ({self.status})"


class WebhookStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    DISABLED = "disabled", _("Disabled")


class WooWebhook(models.Model):
    """A webhook we created in the store (one per topic), with its own signing secret."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    topic = models.CharField(max_length=64)
    platform_id = models.CharField(max_length=32)
    secret = EncryptedTextField()
    status = models.CharField(max_length=20, choices=WebhookStatus.choices, default=WebhookStatus.ACTIVE)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "topic"], name="woo_webhook_unique_topic"),
        ]
        indexes = [models.Index(fields=["shop", "platform_id"])]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.topic} #{self.platform_id}"
