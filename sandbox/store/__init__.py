"""The seeded store generator shared by every platform sandbox and the benches.

A store's life (catalogue, customers with real repeat behaviour, orders, refunds) as plain
objects; each platform sandbox renders them in its own API's shape.
"""

from .common import DEFAULT_ANCHOR
from .generator import StoreGenerator, StoreSpec

__all__ = ["DEFAULT_ANCHOR", "StoreGenerator", "StoreSpec"]
