"""Serves the widget's two files at ``/storefront/comeback-widget.js`` and ``…/comeback-widget.css``.

Themes load them cross-origin with ``<script src>`` / ``<link href>``.  A URL with a ``?v=``
version is cached for a year (immutable); the plain URL for a day, revalidated with
``Last-Modified`` afterwards.
"""

from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe
from django.views.static import serve

ROOT = Path(__file__).resolve().parent
#: Explicit types (with the charset: the script carries Hebrew and Persian strings) rather than
#: whatever the host's mime.types says.
ASSETS = {"comeback-widget.js": "text/javascript; charset=utf-8", "comeback-widget.css": "text/css; charset=utf-8"}


@require_safe
def asset(request: HttpRequest, path: str) -> HttpResponseBase:
    if path not in ASSETS:
        raise Http404("no such widget file")
    response = serve(request, path, document_root=str(ROOT))
    if response.status_code == 200:
        response["Content-Type"] = ASSETS[path]
    if request.GET.get("v"):
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "public, max-age=86400, stale-while-revalidate=604800"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
