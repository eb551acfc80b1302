"""Operators' views of flows, enrolments and every message decision."""

from django.contrib import admin

from campaigns.models import Attribution, Enrolment, Flow, FlowStep, Message, ScheduledStep, Unsubscribe


class FlowStepInline(admin.TabularInline):
    model = FlowStep
    extra = 0
    fields = ("position", "delay_minutes", "action", "template", "is_marketing", "conditions", "config")


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "key", "trigger", "is_enabled", "version")
    list_filter = ("is_enabled", "key", "shop")
    inlines = [FlowStepInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ("pk", "flow", "customer", "status", "trigger_key", "enrolled_at")
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
admin.site.register(Unsubscribe)
