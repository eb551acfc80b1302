"""The Shopify sandbox's helpers: the shared ones (``sandbox.store.common``) and the API version."""

from __future__ import annotations

import re
from typing import Final

# The sandbox serves the version the app pins: one constant (its module imports no Django).
from integrations.shopify.version import API_VERSION as API_VERSION
from sandbox.store.common import (  # noqa: F401 - re-exported for the sandbox's modules
    CENT,
    DEFAULT_ANCHOR,
    ZERO,
    derived_rng,
    gid,
    gid_kind,
    iso,
    money,
    parse_datetime,
    parse_gid,
    q2,
    rest_time,
    seconds,
    shop_numeric_id,
    utc_now,
    zone,
)

_VERSION_RE: Final = re.compile(r"^(\d{4}-(0[1-9]|1[0-2])|unstable)$")


def valid_api_version(version: str) -> bool:
    return bool(_VERSION_RE.match(version))
