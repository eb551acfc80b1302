"""SMS behind a provider adapter: Twilio in production, a sandbox provider (files under
``var/sms/``) for the demo and the tests.  Inbound replies (STOP, HELP, START) arrive signed by
the provider and take effect at once."""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "עצור", "توقف"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO", "עזרה", "راهنما"}


class SmsProvider(Protocol):
    name: str

    def send(self, *, to: str, body: str, sender: str) -> str:
        """Send one message; return the provider's message id."""


@dataclass
class SandboxSmsProvider:
    """Appends each message to ``var/sms/<date>.jsonl`` so a person can read what was sent."""

    directory: Path
    name: str = "sandbox"

    def send(self, *, to: str, body: str, sender: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC)
        with (self.directory / f"{now:%Y-%m-%d}.jsonl").open("a", encoding="utf-8") as file:
            file.write(json.dumps({"id": message_id, "at": now.isoformat(), "from": sender, "to": to, "body": body},
                                  ensure_ascii=False) + "\n")
        return message_id


class TwilioSmsProvider:
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        from twilio.rest import Client

        self.client = Client(account_sid, auth_token)

    def send(self, *, to: str, body: str, sender: str) -> str:
        return str(self.client.messages.create(to=to, from_=sender, body=body).sid)


def provider() -> SmsProvider:
    if settings.SMS_PROVIDER == "twilio":
        return TwilioSmsProvider(account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN)
    return SandboxSmsProvider(directory=Path(settings.VAR_DIR) / "sms")


def twilio_signature_valid(*, url: str, params: dict[str, str], signature: str) -> bool:
    """X-Twilio-Signature, checked with the official library's validator."""
    from twilio.request_validator import RequestValidator

    return bool(settings.TWILIO_AUTH_TOKEN) and RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
        url, params, signature)


def keyword(body: str) -> str:
    word = body.strip().split()[0].upper() if body.strip() else ""
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return ""


def phone_key(number: str) -> str:
    """The last nine digits: ``+972 50-123-4567`` and ``050-1234567`` are the same phone."""
    return "".join(ch for ch in number if ch.isdigit())[-9:]
