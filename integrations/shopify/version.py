"""The one Admin API version Comeback speaks, and Shopify's support window for it.

Everything that names a version reads ``API_VERSION`` from here: the GraphQL client, the webhook
subscriptions (which are serialised in the version they were created with) and the local sandbox.
No Django imports, so the sandbox can import it too.

Shopify releases a stable version every quarter (January, April, July, October, on the 1st) and
supports each for at least 12 months; a call to an unsupported version silently falls forward to
the oldest supported one, changing payloads under the app.  ``integrations.checks`` warns three
months before ``API_VERSION`` leaves support so the upgrade is planned, not discovered.
"""

import re
from datetime import date
from typing import Final

API_VERSION: Final = "2026-10"

SUPPORT_MONTHS: Final = 12
_STABLE_RE: Final = re.compile(r"^(\d{4})-(01|04|07|10)$")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def release_date(version: str = API_VERSION) -> date:
    """The day a stable version ``YYYY-MM`` was released (the 1st of its month)."""
    match = _STABLE_RE.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a stable Admin API version (YYYY-01/04/07/10)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def support_end(version: str = API_VERSION) -> date:
    """The first day the version may no longer be supported: release + 12 months."""
    return _add_months(release_date(version), SUPPORT_MONTHS)


def upgrade_due(version: str = API_VERSION, *, warn_months: int = 3) -> date:
    """From this day on the pinned version is within ``warn_months`` of leaving support."""
    return _add_months(support_end(version), -warn_months)
