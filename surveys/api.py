"""Survey APIs: the shopper widget's (app proxy) and the merchant's (embedded admin)."""

from decimal import Decimal
from typing import Any

from django.utils import translation
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from retention_app.api import ShopperApi, ShopScopedApi
from retention_app.errors import ApplicationError
from retention_app.throttles import SHOPPER_THROTTLES
from surveys import selectors, services
from surveys.models import Channel, Question, Survey


class ProxySurveyListApi(ShopperApi):
    """``GET /proxy/surveys?locale=he``: the surveys the logged-in shopper can answer."""

    def get(self, request: Request) -> Response:
        customer = selectors.shopper_customer(shop=self.shop, customer_platform_id=self.customer_platform_id)
        language = selectors.language_pick(request.query_params.get("locale"), customer=customer, shop=self.shop)
        if customer is None:
            return Response({"logged_in": False, "language": language, "surveys": []})
        return Response({"logged_in": True, "language": language,
                         "surveys": selectors.shopper_surveys(shop=self.shop, customer=customer, language=language)})


class ProxySurveyAnswerApi(ShopperApi):
    """``POST /proxy/surveys/<id>`` with ``{"answers": {"recommend": 9}, "order": "<order id>"}``."""

    throttle_classes = SHOPPER_THROTTLES
    throttle_scope = "survey_answer"

    class InputSerializer(serializers.Serializer):
        answers = serializers.DictField()
        order = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def post(self, request: Request, survey_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = selectors.shopper_customer(shop=self.shop, customer_platform_id=self.customer_platform_id)
        if customer is None:
            raise ApplicationError("log in to answer surveys", status=403, code="login_required")
        survey = selectors.shopper_survey(shop=self.shop, survey_id=survey_id)
        if survey is None:
            raise ApplicationError("this survey is not available", status=404, code="survey_unavailable")
        order = None
        if data.validated_data.get("order"):
            order = selectors.shopper_order(customer=customer, platform_id=data.validated_data["order"])
            if order is None:
                raise ApplicationError("order not found", status=404, code="not_found")
        language = selectors.language_pick(request.query_params.get("locale"), customer=customer, shop=self.shop)
        with translation.override(language):  # answer errors in the shopper's language
            submitted = services.response_submit(survey=survey, customer=customer, order=order,
                                                 answers=data.validated_data["answers"], channel=Channel.WIDGET)
        return Response({"status": "recorded" if submitted.created else "already_answered",
                         "points": submitted.points}, status=201 if submitted.created else 200)


def _plain(value: Any) -> Any:
    """Decimals as exact text ("30.00"), not the float the JSON renderer would make of them."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _survey_out(survey: Survey) -> dict[str, Any]:
    return {"id": survey.pk, "key": survey.key, "kind": survey.kind, "title": survey.title,
            "is_active": survey.is_active, "results": _plain(selectors.survey_results(survey=survey))}


class SurveyListApi(ShopScopedApi):
    """Every survey of the shop with its results."""

    def get(self, request: Request) -> Response:
        return Response([_survey_out(survey) for survey in selectors.survey_list(shop=self.shop)])


class SurveyActivateApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        active = serializers.BooleanField(default=True)

    def post(self, request: Request, survey_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        survey = services.survey_activate(shop=self.shop, survey_id=survey_id, active=data.validated_data["active"])
        return Response({"id": survey.pk, "key": survey.key, "is_active": survey.is_active})


def _question_out(question: Question) -> dict[str, Any]:
    return {"id": question.pk, "key": question.key, "kind": question.kind, "text": question.text,
            "choices": question.choices, "is_required": question.is_required, "is_multiple": question.is_multiple,
            "position": question.position}


class SurveyDetailApi(ShopScopedApi):
    """``PATCH {"title": {"en": …, "he": …, "fa": …}}``: the survey's title as shoppers see it."""

    class InputSerializer(serializers.Serializer):
        title = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000))

    def patch(self, request: Request, survey_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        survey = services.survey_title_update(shop=self.shop, survey_id=survey_id, title=data.validated_data["title"])
        return Response({"id": survey.pk, "key": survey.key, "title": survey.title})


class QuestionListApi(ShopScopedApi):
    """``POST``: a merchant's own question at the end of the survey (``kind``: score, yes_no,
    choice or text; ``text`` per language; ``choices`` ``[{"label": {"en": …}}]`` for a choice)."""

    class InputSerializer(serializers.Serializer):
        kind = serializers.CharField(max_length=10)
        text = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000))
        choices = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=True,
                                        max_length=100)
        is_required = serializers.BooleanField(default=False)
        is_multiple = serializers.BooleanField(default=False)

    def post(self, request: Request, survey_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        question = services.question_create(shop=self.shop, survey_id=survey_id, **data.validated_data)
        return Response(_question_out(question), status=201)


class QuestionDetailApi(ShopScopedApi):
    """``PATCH``: reword a question (its kind stays); ``DELETE``: a merchant's own question with its
    answers (the questions a survey came with stay: 409)."""

    class InputSerializer(serializers.Serializer):
        text = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000))
        choices = serializers.ListField(child=serializers.DictField(), required=False, max_length=100)
        is_required = serializers.BooleanField(required=False)
        is_multiple = serializers.BooleanField(required=False)

    def patch(self, request: Request, survey_id: int, question_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        question = services.question_update(shop=self.shop, survey_id=survey_id, question_id=question_id,
                                            text=values["text"], choices=values.get("choices"),
                                            is_required=values.get("is_required"),
                                            is_multiple=values.get("is_multiple"))
        return Response(_question_out(question))

    def delete(self, request: Request, survey_id: int, question_id: int) -> Response:
        services.question_delete(shop=self.shop, survey_id=survey_id, question_id=question_id)
        return Response(status=204)
