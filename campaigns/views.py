"""The unsubscribe link: a page with a confirm button, and RFC 8058 one-click POST."""

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from campaigns.services.consent import unsubscribe
from campaigns.services.email import unsubscribe_read
from commerce.models import Customer


@csrf_exempt  # mail clients POST here without a session (List-Unsubscribe-Post); the token authenticates
def unsubscribe_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer_id, channel = unsubscribe_read(token)
    except signing.BadSignature:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=400)
    customer = Customer.objects.select_related("shop").filter(pk=customer_id).first()
    if customer is None:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        unsubscribe(customer=customer, channel=channel, source="email_link")
        return render(request, "campaigns/unsubscribe.html", {"done": True, "shop": customer.shop})
    return render(request, "campaigns/unsubscribe.html", {"shop": customer.shop})
