"""What the WooCommerce client needs to call one store: its URL and a REST API key pair.

``connection.credentials_for(shop=)`` builds one from the stored connection; tests and the sandbox
tools make one directly.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    store_url: str  # the store's home URL with scheme, e.g. "https://shop.example" (no trailing slash)
    consumer_key: str  # ck_...
    consumer_secret: str  # cs_...

    def __repr__(self) -> str:  # never print the secret in a log or a traceback
        return f"Credentials(store_url={self.store_url!r}, consumer_key={self.consumer_key[:7]!r}...)"
