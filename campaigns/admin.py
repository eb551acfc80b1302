"""Operators' views of flows, enrolments and every message decision."""

from django.contrib import admin
from django.http import HttpRequest

from campaigns.models import Attribution, Enrolment, Flow, FlowStep, Message, ScheduledStep


class FlowStepInline(admin.TabularInline):
    """Every version's steps, read-only: edits go through ``flow_edit`` (a new version), never in
    place, since scheduled steps of earlier enrolments point at these rows."""

    model = FlowStep
    extra = 0
    fields = ("version", "position", "delay_minutes", "action", "template", "is_marketing", "conditions", "config")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Flow | None = None) -> bool:
        return False


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "key", "trigger", "is_enabled", "version")
    list_filter = ("is_enabled", "key", "shop")
    readonly_fields = ("version",)
    inlines = [FlowStepInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ("pk", "flow", "flow_version", "customer", "status", "trigger_key", "enrolled_at")
    list_filter = ("status", "flow")
    search_fields = ("trigger_key", "customer__email")
    readonly_fields = [f.name for f in Enrolment._meta.fields]


@admin.register(ScheduledStep)
class ScheduledStepAdmin(admin.ModelAdmin):
    list_display = ("pk", "enrolment", "step", "due_at", "status", "deferrals", "result")
    list_filter = ("status",)
    readonly_fields = [f.name for f in ScheduledStep._meta.fields]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("at", "shop", "customer", "flow", "template", "channel", "language", "status", "reason",
                    "discount_code")
    list_filter = ("status", "channel", "template", "language", "shop")
    search_fields = ("customer__email", "discount_code", "reason")
    readonly_fields = [f.name for f in Message._meta.fields]


admin.site.register(Attribution)
