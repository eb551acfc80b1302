"""The merchant's email API: the words of one flow email per language, and the shop's email
branding.  The dashboard's editor and branding page call the same services."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Branding
from campaigns.selectors import branding_get, email_content_get
from campaigns.services.email_blocks import default_content
from campaigns.services.email_content import (
    branding_save,
    email_content_reset,
    email_content_save,
    email_step_get,
    language_checked,
)
from retention_app.api import ShopScopedApi


class EmailContentApi(ShopScopedApi):
    """GET: the step's email in ``language`` (``custom``: the merchant's words, else the built-in
    copy); PUT: save subject, preheader and blocks (400 ``invalid`` naming the wrong block);
    DELETE: back to the built-in copy."""

    class InputSerializer(serializers.Serializer):
        subject = serializers.CharField(max_length=300)
        preheader = serializers.CharField(max_length=300, allow_blank=True, default="")
        blocks = serializers.JSONField()

    def get(self, request: Request, key: str, position: int, language: str) -> Response:
        target = email_step_get(shop=self.shop, flow_key=key, position=position)
        language = language_checked(language)
        saved = email_content_get(shop=self.shop, flow=target.flow, position=position, language=language)
        if saved is not None:
            return Response({"custom": True, "subject": saved.subject, "preheader": saved.preheader,
                             "blocks": saved.blocks})
        content = default_content(template=target.step.template, language=language)
        return Response({"custom": False, "subject": content.subject, "preheader": content.preheader,
                         "blocks": content.blocks})

    def put(self, request: Request, key: str, position: int, language: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = email_content_save(shop=self.shop, flow_key=key, position=position, language=language,
                                   **data.validated_data)
        return Response({"custom": True, "subject": saved.subject, "preheader": saved.preheader,
                         "blocks": saved.blocks})

    def delete(self, request: Request, key: str, position: int, language: str) -> Response:
        email_content_reset(shop=self.shop, flow_key=key, position=position, language=language)
        return Response(status=204)


def _branding_out(branding: Branding) -> dict[str, Any]:
    return {name: getattr(branding, name) for name in ("logo_url", "primary_color", "accent_color",
                                                       "button_text_color", "footer_text", "address")}


class BrandingApi(ShopScopedApi):
    class InputSerializer(serializers.Serializer):
        logo_url = serializers.CharField(max_length=500, allow_blank=True, default="")
        primary_color = serializers.CharField(max_length=7)
        accent_color = serializers.CharField(max_length=7)
        button_text_color = serializers.CharField(max_length=7)
        footer_text = serializers.CharField(max_length=500, allow_blank=True, default="")
        address = serializers.CharField(max_length=500, allow_blank=True, default="")

    def get(self, request: Request) -> Response:
        return Response(_branding_out(branding_get(shop=self.shop)))

    def put(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_branding_out(branding_save(shop=self.shop, **data.validated_data)))
