"""Model fields shared by the apps."""

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


class EncryptedTextField(models.TextField):
    """Text encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

    ``FIELD_ENCRYPTION_KEYS`` lists keys newest first: the first encrypts, all decrypt, so keys
    can be rotated (``MultiFernet.rotate`` re-encrypts a value under the newest key).  The
    database never sees the plaintext; lookups by value are therefore impossible by design.
    """

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return _fernet().encrypt(str(value).encode()).decode()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        try:
            return _fernet().decrypt(value.encode()).decode()
        except InvalidToken as error:
            raise ValueError("cannot decrypt a secret field: is FIELD_ENCRYPTION_KEYS right?") from error


def money_field(**kwargs: Any) -> models.DecimalField:
    """An amount of money; its currency is a sibling ``currency`` column on the same row."""
    kwargs.setdefault("default", 0)
    return models.DecimalField(max_digits=20, decimal_places=3, **kwargs)
