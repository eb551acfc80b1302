"""Surveys: NPS, post-delivery satisfaction and zero-party data, and the shoppers' answers.

A survey's and a question's texts are data (``{"en": ..., "he": ..., "fa": ...}``), not gettext
strings: the merchant may reword them.  A response is unique per survey, customer and order (or
per survey and customer when no order is involved), so a double submit finds the first one.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from commerce.models import Customer, Order, ShopOwned


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score")
    SATISFACTION = "satisfaction", _("Post-delivery satisfaction")
    ZERO_PARTY = "zero_party", _("About you (zero-party data)")


class QuestionKind(models.TextChoices):
    SCORE = "score", _("Score from 0 to 10")
    YES_NO = "yes_no", _("Yes or no")
    CHOICE = "choice", _("Choice")
    TEXT = "text", _("Free text")
    DATE = "date", _("Date")


class ProfileField(models.TextChoices):
    """Where a zero-party answer is kept besides the answer itself."""

    NONE = "", _("Nowhere else")
    BIRTHDAY = "birthday", _("The customer's birthday")
    INTERESTS = "interests", _("The customer's interests")
    PREFERENCES = "preferences", _("The customer's preferences")


class Channel(models.TextChoices):
    WIDGET = "widget", _("Storefront widget")
    EMAIL = "email", _("Emailed link")


class Survey(ShopOwned):
    key = models.SlugField(max_length=50)
    kind = models.CharField(max_length=20, choices=SurveyKind.choices)
    title = models.JSONField(default=dict)
    is_active = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="survey_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.shop_id})"


class Question(ShopOwned):
    """``choices`` (choice questions): ``[{"value": "sales", "label": {"en": "Sales", ...}}]``."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    key = models.SlugField(max_length=50)
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    text = models.JSONField(default=dict)
    choices = models.JSONField(default=list, blank=True)
    is_required = models.BooleanField(default=False)
    is_multiple = models.BooleanField(default=False)
    profile_field = models.CharField(max_length=20, choices=ProfileField.choices, blank=True, default="")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "survey", "key"], name="question_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.key}"


class Response(ShopOwned):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=8, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "survey", "customer", "order"], condition=Q(order__isnull=False),
                                    name="response_unique_per_order"),
            models.UniqueConstraint(fields=["shop", "survey", "customer"], condition=Q(order__isnull=True),
                                    name="response_unique_per_customer"),
        ]
        indexes = [models.Index(fields=["shop", "submitted_at"])]

    def __str__(self) -> str:
        return f"response {self.pk} to {self.survey_id}"


class Answer(ShopOwned):
    """One typed value per answer: the column that matches the question's kind is set."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    yes_no = models.BooleanField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "response", "question"], name="answer_unique_question"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__lte=10), name="answer_score_0_to_10"),
        ]
        indexes = [models.Index(fields=["shop", "question"])]

    def __str__(self) -> str:
        return f"answer to {self.question_id}"


class CustomerProfile(ShopOwned):
    """What shoppers told us about themselves (zero-party data), newest answer wins."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    interests = models.JSONField(default=list, blank=True)
    preferences = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "customer"], name="customerprofile_unique_customer")]

    def __str__(self) -> str:
        return f"profile of {self.customer_id}"
