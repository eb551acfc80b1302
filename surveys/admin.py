"""Operators' views of surveys and answers (answers are read-only: they are the shoppers' words)."""

from django.contrib import admin
from django.http import HttpRequest

from surveys.models import Answer, CustomerProfile, Question, Response, Survey


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ("position", "key", "kind", "text", "choices", "is_required", "is_multiple", "profile_field")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("key", "shop", "kind", "is_active")
    list_filter = ("kind", "is_active")
    inlines = [QuestionInline]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    fields = ("question", "score", "yes_no", "choices", "text", "date")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "survey", "customer", "order", "channel", "submitted_at")
    list_filter = ("channel", "survey__kind")
    readonly_fields = ("shop", "survey", "customer", "order", "channel", "language", "submitted_at")
    inlines = [AnswerInline]


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = ("customer", "shop", "interests", "preferences", "updated_at")
    raw_id_fields = ("customer",)
