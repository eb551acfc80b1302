"""Campaign flows: a trigger, steps (delay, conditions, action), enrolments and their scheduled
steps, and every message sent, skipped or deferred, with the reason.

A step runs at most once per enrolment: ``ScheduledStep`` is unique per (enrolment, step) and
moves from ``pending`` to a final state inside one locked transaction, and the ``Message`` it
writes is unique per scheduled step.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from commerce.models import Customer, Shop


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class Flow(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=50)  # the preset it came from: "order_thank_you", "winback", ...
    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=60)  # a domain event ("order.paid") or "schedule:daily"
    is_enabled = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    settings = models.JSONField(default=dict, blank=True)  # e.g. {"inactive_days": 180}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="flow_unique_key")]

    def __str__(self) -> str:
        return self.name


class StepAction(models.TextChoices):
    SEND_EMAIL = "send_email", _("Send an email")
    SEND_SMS = "send_sms", _("Send an SMS")


class FlowStep(models.Model):
    """One step of one version of a flow.  Editing a flow writes a new version's steps and keeps
    the old ones: enrolments made before the edit still have steps scheduled against them."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    version = models.PositiveIntegerField(default=1)
    position = models.PositiveIntegerField()
    delay_minutes = models.PositiveIntegerField(default=0)
    action = models.CharField(max_length=20, choices=StepAction.choices, default=StepAction.SEND_EMAIL)
    template = models.CharField(max_length=60)
    is_marketing = models.BooleanField(default=True)
    # Conditions checked when the step runs, e.g. {"no_order_since_enrolment": true}.
    conditions = models.JSONField(default=dict, blank=True)
    # Action settings, e.g. {"discount_percent": 15, "discount_hours": 72}.
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "version", "position"], name="flowstep_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.version}#{self.position} {self.template}"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")


class Enrolment(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="enrolments")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    trigger_key = models.CharField(max_length=200)  # what enrolled them: the event key, or a date
    flow_version = models.PositiveIntegerField(default=1)  # the version whose steps were scheduled
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    enrolled_at = models.DateTimeField()  # when the trigger happened: delays count from here
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "flow", "trigger_key"], name="enrolment_unique_trigger"),
        ]

    def __str__(self) -> str:
        return f"{self.flow_id}:{self.trigger_key}"


class StepStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class Priority(models.IntegerChoices):
    """Who goes first when the frequency caps bind (lower runs first); see ``engine.message_priority``."""

    TRANSACTIONAL = 1, _("Transactional")
    DATE_BOUND = 2, _("Date-bound")
    MARKETING = 3, _("Marketing")


class Reason(models.TextChoices):
    """Why a step was deferred or skipped (``ScheduledStep.reason_code``): what the flow's numbers
    group by.  The full sentence stays in ``ScheduledStep.result``."""

    FREQUENCY_CAP = "frequency_cap", _("Frequency cap")
    QUIET_HOURS = "quiet_hours", _("Quiet hours")
    SENDING_FAILED = "sending_failed", _("Sending failed, retrying")
    NO_ADDRESS = "no_address", _("No address")
    NO_CONSENT = "no_consent", _("No marketing consent")
    DUPLICATE = "duplicate", _("Sent recently")
    MOMENT_PASSED = "moment_passed", _("Its day had passed")
    STALE = "stale", _("Too late")
    WAITED_TOO_LONG = "waited_too_long", _("No room under the caps for too long")
    NOTHING_TO_SEND = "nothing_to_send", _("Nothing to offer")
    EXITED = "exited", _("Left the flow")
    PLAN_LIMIT = "plan_limit", _("Plan limit")


class ScheduledStep(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="scheduled")
    step = models.ForeignKey(FlowStep, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()  # when it runs next: moved on by each deferral
    first_due_at = models.DateTimeField(null=True, blank=True)  # when it was first due (fair order, staleness)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MARKETING)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING)
    deferrals = models.PositiveIntegerField(default=0)
    result = models.CharField(max_length=300, blank=True)
    # Why it was last deferred (while pending) or skipped: a code the flow's numbers group by.
    reason_code = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "enrolment", "step"], name="scheduledstep_unique")]
        indexes = [models.Index(fields=["due_at"], name="scheduledstep_due_idx", condition=Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.step_id} at {self.due_at:%Y-%m-%d %H:%M}"


class MessageStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")


class Message(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # One message per scheduled step: ``message_unique_scheduled_step`` (with the shop, so the table
    # can be sharded by shop).
    scheduled_step = models.ForeignKey(ScheduledStep, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    template = models.CharField(max_length=60)
    language = models.CharField(max_length=8)
    is_marketing = models.BooleanField(default=True)
    subject = models.CharField(max_length=300, blank=True)
    # SMS: the segments the carrier bills for it (``campaigns.services.sms.sms_count``); 0 for email.
    segments = models.PositiveSmallIntegerField(default=0)
    discount_code = models.CharField(max_length=64, blank=True)
    tracking_id = models.CharField(max_length=32, blank=True, db_index=True)  # sent as ESP metadata
    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()  # when it was sent or skipped, by the scheduler's clock
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "scheduled_step"],
                                               name="message_unique_scheduled_step")]
        indexes = [
            models.Index(fields=["shop", "customer", "channel", "at"]),
            models.Index(fields=["shop", "discount_code"]),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.customer_id} ({self.status})"


class Attribution(models.Model):
    """An order credited to one flow, once: it used the flow's code, or came within the
    attribution window after the flow's message reached the customer."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    order = models.ForeignKey("commerce.Order", on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")
    via = models.CharField(max_length=10)  # "code" or "window"
    revenue = models.DecimalField(max_digits=20, decimal_places=3)
    discount = models.DecimalField(max_digits=20, decimal_places=3)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "order"], name="attribution_unique_order")]

    def __str__(self) -> str:
        return f"order {self.order_id} -> flow {self.flow_id} ({self.via})"


class MessageEvent(models.Model):
    """What the provider reported about a sent message (delivered, opened, clicked, bounced...)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=20)
    at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "message", "event_type"], name="messageevent_unique")]

    def __str__(self) -> str:
        return f"{self.message_id} {self.event_type}"


class Branding(models.Model):
    """How the shop's emails look: logo (else the shop's name), colours and the footer.  A shop
    without a row gets the defaults (``campaigns.selectors.branding_get``); saving creates it."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    logo_url = models.URLField(max_length=500, blank=True)
    primary_color = models.CharField(max_length=7, default="#1f6f5c")  # buttons, links
    accent_color = models.CharField(max_length=7, default="#f4b400")  # the discount code's frame
    button_text_color = models.CharField(max_length=7, default="#ffffff")
    footer_text = models.CharField(max_length=500, blank=True)
    # The postal address anti-spam laws require in marketing email (CAN-SPAM); blank: not shown.
    address = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"branding of {self.shop_id}"


class EmailContent(models.Model):
    """The merchant's words for one email step of a flow in one language: subject, preheader and
    content blocks (``campaigns.services.email_blocks``).  Kept per step position, so a new
    version of the flow keeps them; without a row the built-in copy is sent."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=300)
    preheader = models.CharField(max_length=300, blank=True)
    blocks = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "flow", "position", "language"],
                                               name="emailcontent_unique_step_language")]

    def __str__(self) -> str:
        return f"{self.flow_id}#{self.position} {self.language}"
