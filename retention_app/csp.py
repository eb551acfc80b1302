"""The Content-Security-Policy middleware: django-csp's, with its directives in a fixed order.

django-csp builds the header from a set, so the order changes from one process to the next.  Here
``frame-ancestors`` comes first (who may frame the page: what Shopify's app review and an operator
look for), then the directives in the order of ``settings.CONTENT_SECURITY_POLICY``.
"""

from csp.constants import HEADER
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

FIRST = "frame-ancestors"


def policy_ordered(policy: str) -> str:
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    configured = list(settings.CONTENT_SECURITY_POLICY.get("DIRECTIVES", {}))
    order = {name: index for index, name in enumerate([FIRST, *(name for name in configured if name != FIRST)])}
    return "; ".join(sorted(directives, key=lambda directive: order.get(directive.split(" ")[0], len(order))))


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().process_response(request, response)
        if HEADER in response:
            response[HEADER] = policy_ordered(response[HEADER])
        return response
