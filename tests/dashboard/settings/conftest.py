from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def alpha(two_shops: tuple[Any, Any]) -> Any:
    return two_shops[0]


@pytest.fixture
def beta(two_shops: tuple[Any, Any]) -> Any:
    return two_shops[1]


@pytest.fixture
def client_in(member: Any) -> Client:
    """The merchant of alpha, logged in (a Django login with a shop membership)."""
    client = Client()
    client.force_login(member)
    return client
