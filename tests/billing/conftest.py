"""The live app and the Shopify sandbox, for the billing tests over real HTTP."""

from tests.e2e.conftest import app, sandbox  # noqa: F401
