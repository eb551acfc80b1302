"""The client's IP address, as far as our own proxies vouch for it.

``X-Forwarded-For`` is written by whoever sends the request: only the entries appended by proxies
we run (``TRUSTED_PROXIES``, a list of CIDRs) can be believed.  So the chain is walked from the
right (``REMOTE_ADDR`` first), past every trusted proxy, and the first address not in the list is
the client.  With no trusted proxies (the default) the header is ignored and ``REMOTE_ADDR`` is
the client.  Used wherever an address matters: the referral IP rule, the shopper rate limits and
the login lockout (``AXES_CLIENT_IP_CALLABLE``).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The valid CIDRs (or single addresses) of ``entries``; anything else is ignored: a typo
    trusts less, never more."""
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def address_parse(text: str) -> Address | None:
    """An address as proxies write it (``203.0.113.9``, ``203.0.113.9:5123``, ``[2001:db8::1]:443``,
    ``::ffff:203.0.113.9``), or None for anything else (``unknown``, a name, garbage)."""
    text = text.strip()
    if not text or len(text) > 100:
        return None
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip(request: HttpRequest | Request, *, signed_hops: int = 0) -> str | None:
    """The client's address: ``REMOTE_ADDR`` unless it is a trusted proxy, then the right-most
    ``X-Forwarded-For`` entry that is not a trusted proxy (invalid entries are skipped).  None when
    not even ``REMOTE_ADDR`` is an address.

    ``signed_hops``: for a request whose signature proves it passed through a platform's proxy
    (Shopify's app proxy connects to us and appends the address that connected to it), believe
    that many more entries beyond the first untrusted one, as far as there are entries."""
    networks = trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    nearest = address_parse(request.META.get("REMOTE_ADDR") or "")
    if nearest is None:
        return None
    if not networks and not signed_hops:
        return str(nearest)
    chain = [nearest]
    for entry in reversed((request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")):
        address = address_parse(entry)
        if address is not None:
            chain.append(address)
    index = 0
    while index < len(chain) - 1 and _trusted(chain[index], networks):
        index += 1
    return str(chain[min(index + signed_hops, len(chain) - 1)])
