"""The email provider's tracking webhooks (django-anymail), failing closed.

django-anymail serves its webhooks to anyone when ``ANYMAIL["WEBHOOK_SECRET"]`` is unset (it
only warns), and answers 500 for providers whose signing key is missing.  Here each provider's
tracking route is served only while it can be authenticated, checked on every request (so a
key added or removed in settings takes effect at once); otherwise it is a 404, as if not mounted:

- providers that sign every request (Mailgun, Mandrill, Postal, MailerSend): their signing key
  must be configured;
- providers that may sign (SendGrid, Resend, Mailtrap): their key, or the shared secret;
- the others (Postmark, Amazon SES, Brevo, Mailjet, SparkPost): the shared secret, which anymail
  checks as HTTP basic auth ("user:password") and refuses with a 400 when wrong or missing.

A provider whose optional package is missing (boto3 for Amazon SES, svix for Resend) is a 404 too,
not a 500.  Inbound-email routes are not mounted: the app does not receive mail.  Unisender Go is
not mounted.  A body anymail cannot parse (before or after the signature check) is a 400, not a
500; errors in our own tracking handler stay 500s, so the provider retries.
"""

import importlib.util
from collections.abc import Callable
from typing import Any

from anymail.exceptions import AnymailConfigurationError
from anymail.utils import get_anymail_setting
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailersend import MailerSendTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.mailtrap import MailtrapTrackingWebhookView
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from anymail.webhooks.postal import PostalTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.resend import ResendTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

# (route, view, esp_name, signing-key setting or None, the key is required to serve)
_Provider = tuple[str, Any, str, str | None, bool]
PROVIDERS: list[_Provider] = [
    ("mailgun/tracking/", MailgunTrackingWebhookView, "Mailgun", "webhook_signing_key", True),
    ("mandrill/", MandrillCombinedWebhookView, "Mandrill", "webhook_key", True),
    ("mandrill/tracking/", MandrillCombinedWebhookView, "Mandrill", "webhook_key", True),
    ("postal/tracking/", PostalTrackingWebhookView, "Postal", "webhook_key", True),
    ("mailersend/tracking/", MailerSendTrackingWebhookView, "MailerSend", "signing_secret", True),
    ("sendgrid/tracking/", SendGridTrackingWebhookView, "SendGrid",
     "tracking_webhook_verification_key", False),
    ("resend/tracking/", ResendTrackingWebhookView, "Resend", "signing_secret", False),
    ("mailtrap/tracking/", MailtrapTrackingWebhookView, "Mailtrap", "tracking_secret", False),
    ("postmark/tracking/", PostmarkTrackingWebhookView, "Postmark", None, False),
    ("amazon_ses/tracking/", AmazonSESTrackingWebhookView, "Amazon SES", None, False),
    ("brevo/tracking/", BrevoTrackingWebhookView, "Brevo", None, False),
    ("mailjet/tracking/", MailjetTrackingWebhookView, "Mailjet", None, False),
    ("sparkpost/tracking/", SparkPostTrackingWebhookView, "SparkPost", None, False),
]


# Packages a provider's view needs; without them anymail raises on the first request.
_NEEDS = {"Amazon SES": "boto3", "Resend": "svix"}

# Providers whose key anymail also reads from a bare setting (e.g. ``MANDRILL_WEBHOOK_KEY``).
_BARE = {"Mandrill", "Postal"}


def _configured(name: str, *, esp_name: str | None = None) -> bool:
    """Read a setting exactly as anymail's view will, so "configured" here means it works there."""
    try:
        value = get_anymail_setting(name, esp_name=esp_name, default=None,
                                    allow_bare=esp_name in _BARE)
    except AnymailConfigurationError:
        return False
    return bool(value)


def webhook_authenticated(*, esp_name: str, key_setting: str | None, key_required: bool) -> bool:
    """Whether a provider's webhook can authenticate its requests with the current settings."""
    if esp_name in _NEEDS and importlib.util.find_spec(_NEEDS[esp_name]) is None:
        return False
    if key_setting and _configured(key_setting, esp_name=esp_name):
        return True
    return not key_required and _configured("webhook_secret")


_MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError)


class _MalformedIsBadRequest:
    """Mixed in before an anymail view: a body its validators or parser choke on is a 400."""

    def run_validators(self, request: HttpRequest) -> None:
        try:
            super().run_validators(request)  # type: ignore[misc]
        except _MALFORMED as error:
            raise BadRequest(f"malformed email webhook: {error!r}"[:200]) from error

    def parse_events(self, request: HttpRequest) -> list[Any]:
        try:
            return list(super().parse_events(request))  # type: ignore[misc]
        except _MALFORMED as error:
            raise BadRequest(f"malformed email webhook: {error!r}"[:200]) from error


def _gated(view: Callable[..., HttpResponse], *, esp_name: str, key_setting: str | None,
           key_required: bool) -> Callable[..., HttpResponse]:
    @csrf_exempt
    def gate(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not webhook_authenticated(esp_name=esp_name, key_setting=key_setting,
                                     key_required=key_required):
            raise Http404("email tracking webhooks are not configured")
        return view(request, *args, **kwargs)

    return gate


def _strict(view_class: Any) -> Callable[..., HttpResponse]:
    strict: Any = type(view_class.__name__, (_MalformedIsBadRequest, view_class), {})
    return strict.as_view()  # type: ignore[no-any-return]


def tracking_urlpatterns() -> list[URLPattern]:
    return [
        path(route, _gated(_strict(view_class), esp_name=esp_name, key_setting=key_setting,
                           key_required=key_required),
             name="mandrill_webhook" if route == "mandrill/" else f"{route.split('/')[0]}_tracking_webhook")
        for route, view_class, esp_name, key_setting, key_required in PROVIDERS
    ]


urlpatterns = tracking_urlpatterns()
app_name = "anymail"
