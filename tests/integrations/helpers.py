import base64
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from integrations.shopify.version import API_VERSION

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str = "test-api-secret-with-at-least-32-bytes") -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_webhook(
    client: Any,
    topic: str,
    payload: dict | bytes,
    *,
    shop_domain: str,
    webhook_id: str | None = None,
    secret: str = "test-api-secret-with-at-least-32-bytes",
    signature: str | None = None,
    event_id: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        "/webhooks/shopify",
        data=body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature if signature is not None else sign(body, secret),
            "X-Shopify-Shop-Domain": shop_domain,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": "2026-01-10T15:15:00Z",
            "X-Shopify-API-Version": API_VERSION,
        },
    )
