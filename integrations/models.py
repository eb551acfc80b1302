"""Integration state: the webhook inbox, install handshakes, sync runs, privacy exports."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from commerce.models import Platform, Shop


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed (will retry)")
    DEAD = "dead", _("Failed (gave up)")


class WebhookDelivery(models.Model):
    """One verified delivery, stored raw before any processing (the inbox).

    Unique per platform delivery id, so a redelivery of the same id is recognised and dropped.
    The raw body is kept byte-for-byte so a failed delivery can be inspected and retried.
    """

    platform = models.CharField(max_length=20, choices=Platform.choices)
    delivery_id = models.CharField(max_length=255)
    event_id = models.CharField(max_length=255, blank=True)
    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    shop_domain = models.CharField(max_length=255)
    topic = models.CharField(max_length=100)
    api_version = models.CharField(max_length=20, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["platform", "delivery_id"], name="delivery_unique_id"),
        ]
        indexes = [
            models.Index(fields=["shop_domain", "received_at"]),
            # the same event delivered twice under different delivery ids (an app-wide and a
            # per-shop subscription to one topic): see ``delivery_process``
            models.Index(fields=["shop_domain", "event_id"], name="delivery_event_idx",
                         condition=~Q(event_id="")),
            # the drainers' claim: waiting deliveries in arrival order (see ``inbox_drain_batch``)
            models.Index(fields=["id"], name="delivery_waiting_idx", condition=Q(status="received")),
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_retry_idx",
                condition=Q(status="failed"),
            ),
            # the retention job's batches: done deliveries by age
            models.Index(
                fields=["received_at"],
                name="delivery_done_age_idx",
                condition=Q(status__in=["processed", "ignored"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class OAuthState(models.Model):
    """A single-use ``state`` handed out by /shopify/install and consumed by the callback."""

    shop_domain = models.CharField(max_length=255)
    state = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"install state for {self.shop_domain}"


class SyncKind(models.TextChoices):
    HISTORY = "history", _("History (bulk operation)")
    RECONCILE = "reconcile", _("Reconciliation")


class SyncStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class SyncRun(models.Model):
    """A history sync or a reconciliation pass, with enough state to resume after a crash.

    A history sync walks ``resources`` in order; for each one it runs a bulk operation and
    ingests the JSONL.  ``resource``/``bulk_operation_id``/``lines_done`` say where it stands:
    after a crash the same file is read again from ``lines_done`` (upserts are idempotent).
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=20, choices=SyncKind.choices)
    status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    resource = models.CharField(max_length=20, blank=True)
    bulk_operation_id = models.CharField(max_length=255, blank=True)
    result_url = models.TextField(blank=True)
    lines_done = models.PositiveIntegerField(default=0)
    resumes = models.PositiveIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} sync of {self.shop_id} ({self.status})"


class SyncCursor(models.Model):
    """High-water mark of the reconciliation: the newest ``updated_at`` seen per resource."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    resource = models.CharField(max_length=20)
    updated_at_mark = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "resource"], name="synccursor_unique_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} since {self.updated_at_mark:%Y-%m-%d %H:%M}"


class DataRequestExport(models.Model):
    """A customer's data, produced for a ``customers/data_request`` for the merchant to fetch."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=64, blank=True)
    customer_platform_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "request_id", "customer_platform_id"], name="datarequest_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"data request {self.request_id} for customer {self.customer_platform_id}"
