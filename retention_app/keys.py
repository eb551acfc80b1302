"""The secret keys: random per installation, never a value anyone can read in the repository.

Imported by the settings (so nothing here reads ``django.conf.settings``).  ``SECRET_KEY`` signs
sessions, unsubscribe and survey links; ``FIELD_ENCRYPTION_KEYS`` encrypt shops' access tokens at
rest.  Production takes both from the environment.  Development and ``make demo`` (DEBUG on, no
environment variable) generate them once into ``var/secrets.json`` (mode 0600) and reuse them, so
logins and stored tokens survive a restart.  A key that was ever published in the repository is
refused everywhere.
"""

import base64
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

SECRETS_FILE_NAME = "secrets.json"

#: Every SECRET_KEY that was ever committed to the repository (``git log -p -S SECRET_KEY``).
PUBLIC_SECRET_KEYS = frozenset({"insecure-development-key-do-not-use-in-production"})


def derived_encryption_key(secret_key: str) -> str:
    """The Fernet key derived from a SECRET_KEY (what FIELD_ENCRYPTION_KEYS defaults to when only
    SECRET_KEY is set in the environment)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()


#: The encryption keys derived from the public SECRET_KEYs: anything encrypted with them is readable.
PUBLIC_ENCRYPTION_KEYS = frozenset(derived_encryption_key(key) for key in PUBLIC_SECRET_KEYS)


#: The Shopify app secrets the repository's settings, tests and sandbox use: each signs webhooks,
#: app-proxy requests and session tokens that the app would then believe.
PUBLIC_SHOPIFY_SECRETS = frozenset({
    "comeback-dev-secret", "sandbox-api-secret", "test-api-secret", "test-api-secret-with-at-least-32-bytes",
    "rotated-secret-that-is-also-32-bytes-long", "test-secret", "new-secret",
})


@dataclass(frozen=True)
class DevelopmentSecrets:
    secret_key: str
    encryption_key: str
    path: Path


def keys_refuse_public(*, secret_key: str, encryption_keys: list[str]) -> None:
    """ImproperlyConfigured when a key is one of the repository's published values (or unusable)."""
    if secret_key in PUBLIC_SECRET_KEYS:
        raise ImproperlyConfigured(
            "SECRET_KEY is a public development value from the repository: anyone could forge sessions, "
            "unsubscribe and survey links with it. Set a random SECRET_KEY (or unset it in development: "
            "one is generated under var/)."
        )
    for key in encryption_keys:
        if key in PUBLIC_ENCRYPTION_KEYS:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS holds the key derived from the public development SECRET_KEY: shop "
                "access tokens encrypted with it are readable by anyone. Generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
            )
        try:
            Fernet(key.encode())
        except ValueError as error:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes (a Fernet key)"
            ) from error


def shopify_secrets_refuse_public(*, secrets: list[str]) -> None:
    """ImproperlyConfigured when a Shopify app secret is one from the repository (production only:
    development talks to the local sandbox with its default)."""
    if set(secrets) & PUBLIC_SHOPIFY_SECRETS:
        raise ImproperlyConfigured(
            "SHOPIFY_API_SECRET (or SHOPIFY_API_SECRET_PREVIOUS) is a development or test value from the "
            "repository: anyone could sign webhooks, app-proxy requests and session tokens with it. Use the "
            "app's client secret from the Shopify Partner Dashboard."
        )


def development_secrets(*, var_dir: Path) -> DevelopmentSecrets:
    """The development keys kept in ``var/secrets.json``, generated on first use.

    Created atomically with mode 0600: written to a private temporary file, then hard-linked into
    place, so two processes starting together (web server, worker) agree on the first one written.
    """
    path = var_dir / SECRETS_FILE_NAME
    if not path.exists():
        _write_new(path)
    try:
        data = json.loads(path.read_text())
        found = DevelopmentSecrets(secret_key=str(data["secret_key"]), encryption_key=str(data["encryption_key"]),
                                   path=path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ImproperlyConfigured(
            f"{path} is unreadable or damaged ({error}); delete it (or run `make clean`) to generate new "
            "development keys"
        ) from error
    if not found.secret_key or not found.encryption_key:
        raise ImproperlyConfigured(f"{path} holds an empty key; delete it to generate new development keys")
    return found


def _write_new(path: Path) -> None:
    data = {"secret_key": secrets.token_urlsafe(50), "encryption_key": Fernet.generate_key().decode()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: keep its keys
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
