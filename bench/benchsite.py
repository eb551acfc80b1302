"""Bench-only settings module AND URLconf: the app's settings and URLs plus two reference views.

Served by gunicorn with ``DJANGO_SETTINGS_MODULE=bench.benchsite`` so the app's own code stays
untouched.  The extra views go through the same middleware stack as ``/webhooks/shopify``:

* ``POST /bench/bare``: read the body, answer 200; no signature check, no database, no broker.
* ``POST /bench/verify``: the webhook's signature check and header parsing, then 200; no database.

(``urlpatterns`` is a lazy module attribute, see ``__getattr__`` below.)

``BENCH_CELERY_QUEUE`` names the queue the ack path publishes to, so a bench run never mixes its
task messages with those of a real broker's ``celery`` queue.
"""

import os
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from retention_app.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.benchsite"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "celery")


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True, "bytes": len(request.body)})


@csrf_exempt
@require_POST
def verify_only(request: HttpRequest) -> HttpResponse:
    from commerce.models import Platform
    from integrations import webhooks
    from integrations.platforms import adapter_for

    try:  # exactly what integrations.views.shopify_webhook does before it touches the inbox
        inbound = adapter_for(Platform.SHOPIFY).inbound_webhook(body=request.body, headers=dict(request.headers))
    except webhooks.WebhookUnauthorized as error:
        return JsonResponse({"error": str(error)}, status=401)
    except webhooks.WebhookRejected as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"delivery": inbound.delivery_id, "duplicate": False})


def __getattr__(name: str) -> Any:
    """``urlpatterns``, built on first use: this module is loaded as the settings before the app
    registry is ready, when the app's URLconf (which imports models) cannot be imported yet."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import path

    from retention_app.urls import urlpatterns as app_urlpatterns

    patterns = [
        *app_urlpatterns,
        path("bench/bare", bare, name="bench-bare"),
        path("bench/verify", verify_only, name="bench-verify"),
    ]
    globals()["urlpatterns"] = patterns
    return patterns
