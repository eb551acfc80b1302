"""The unsubscribe link: a page with a confirm button, and RFC 8058 one-click POST."""

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from campaigns.channels.sms import twilio_signature_valid
from campaigns.services.consent import unsubscribe
from campaigns.services.email import unsubscribe_read
from campaigns.services.sms import inbound_reply
from commerce.models import ConsentSource, Customer


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
        unsubscribe(customer=customer, channel=channel, source=ConsentSource.UNSUBSCRIBE_LINK)
        return render(request, "campaigns/unsubscribe.html", {"done": True, "shop": customer.shop})
    return render(request, "campaigns/unsubscribe.html", {"shop": customer.shop})


@csrf_exempt  # the provider POSTs here; its signature (X-Twilio-Signature) authenticates
def sms_inbound_twilio(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    params = {key: request.POST.get(key, "") for key in request.POST}
    url = request.build_absolute_uri()
    if not twilio_signature_valid(url=url, params=params, signature=request.headers.get("X-Twilio-Signature", "")):
        return HttpResponse("invalid signature", status=401)
    reply = inbound_reply(sender=params.get("From", ""), body=params.get("Body", ""))
    twiml = "<Response>" + (f"<Message>{escape(reply)}</Message>" if reply else "") + "</Response>"
    return HttpResponse(twiml, content_type="text/xml")
