"""The merchant's widget designer API: ``GET``/``PATCH /api/loyalty/widget`` (session token, or a
dashboard login with a shop membership).  The designer page calls the same service."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty import selectors
from loyalty.models import WIDGET_SECTIONS, WidgetSettings
from loyalty.services.widget import widget_settings_update
from retention_app.api import ShopScopedApi


def widget_settings_data(widget: WidgetSettings) -> dict[str, Any]:
    """The settings as the API and the designer form name them (blank: the theme editor's)."""
    return {
        "accent_color": widget.accent_color,
        "accent_text_color": widget.accent_text_color,
        "launcher_position": widget.launcher_position,
        "texts": widget.texts or {},
        **{f"show_{key}": getattr(widget, f"show_{key}") for key in WIDGET_SECTIONS},
    }


class WidgetSettingsApi(ShopScopedApi):
    def get(self, request: Request) -> Response:
        return Response(widget_settings_data(selectors.widget_settings_get(shop=self.shop)))

    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        try:
            widget = widget_settings_update(shop=self.shop, changes=request.data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return Response(widget_settings_data(widget))
