"""Requests no view can answer sensibly are refused at the door with a clear 400."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

#: Paths whose clients read JSON errors (the merchant API, the storefront widget, platform webhooks).
JSON_PREFIXES = ("/api/", "/proxy/", "/webhooks/")


class NulCharacterMiddleware:
    """A NUL character in the path or the query string is a 400.

    PostgreSQL cannot store or even compare text containing NUL (0x00): a ``%00`` in a segment
    key, a page name or a search term would reach a query and fail as a database error (500).
    No browser, platform or widget sends one, so it is refused before any view runs.  JSON and
    form bodies are validated by their serializers and forms, which refuse NUL already.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            message = "the address contains a NUL character (%00), which is never valid here"
            if request.path.startswith(JSON_PREFIXES):
                return JsonResponse({"error": message, "code": "invalid"}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
