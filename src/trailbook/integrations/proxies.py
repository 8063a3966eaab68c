"""The client's IP address behind reverse proxies.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only as
far as it was appended by proxies you run: the peer address (the TCP connection's other
end) must be a trusted proxy before the header is read at all, and then the header is
walked from the right, hop by hop, while each hop is trusted. The first untrusted
address from the right is the client. Addresses further left were written by that
client (or by proxies it claims) and are never used.

    trusted = TrustedProxies(["10.0.0.0/8", "127.0.0.1"])
    client_ip("10.0.0.5", "203.0.113.7, 10.0.0.9", trusted)   # "203.0.113.7"
    client_ip("198.51.100.4", "203.0.113.7", trusted)          # "198.51.100.4"
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str | None) -> IPAddress | None:
    """An address from header or socket text, or None if it is not one.

    Accepts what proxies write: ``[2001:db8::1]:443`` and ``203.0.113.7:5000`` (a port
    is dropped), a zone id (``fe80::1%eth0``, dropped), and IPv4-mapped IPv6
    (``::ffff:203.0.113.7`` is the IPv4 address)."""
    if not text:
        return None
    value = text.strip().strip('"')
    if value.startswith("["):  # [v6] or [v6]:port
        end = value.find("]")
        if end < 0:
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """A set of proxy addresses and networks: ``"10.0.0.1"``, ``"10.0.0.0/8"``,
    ``"fd00::/8"``. Empty (the default everywhere) trusts no proxy, so
    ``X-Forwarded-For`` is ignored and the peer address is the client."""

    __slots__ = ("networks",)

    def __init__(self, entries: Iterable[str] = ()) -> None:
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"trusted proxy {entry!r} is not an IP address or "
                                 "network (e.g. 10.0.0.1 or 10.0.0.0/8)") from None
        self.networks: tuple[IPNetwork, ...] = tuple(networks)

    @classmethod
    def of(cls, value: TrustedProxies | Iterable[str] | str | None) -> TrustedProxies:
        """Accepts an instance, a list of entries, or one comma-separated string."""
        if isinstance(value, TrustedProxies):
            return value
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls(part for part in value.split(",") if part.strip())
        return cls(value)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return any(address.version == net.version and address in net for net in self.networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({[str(n) for n in self.networks]!r})"


def forwarded_hops(headers: Sequence[str] | str | None) -> list[str]:
    """The hops of one or several ``X-Forwarded-For`` header values, left to right."""
    if headers is None:
        return []
    values = [headers] if isinstance(headers, str) else list(headers)
    return [hop.strip() for value in values for hop in value.split(",") if hop.strip()]


def client_ip(peer: str | None, forwarded_for: Sequence[str] | str | None,
              trusted: TrustedProxies) -> str | None:
    """The client's address as text, or None when the peer's address is unknown.

    ``forwarded_for`` is the raw ``X-Forwarded-For`` value (or every value, in order,
    when the header came several times). It is read only if ``peer`` is trusted; then
    the right-most address that is not a trusted proxy is the client. If every hop is
    trusted, the left-most one is. A hop that is not an address stops the walk: the
    last trusted address before it is returned, since nothing beyond it can be
    believed."""
    address = parse_ip(peer)
    if address is None:
        return None
    if address not in trusted or not forwarded_for:
        return str(address)
    for hop in reversed(forwarded_hops(forwarded_for)):
        parsed = parse_ip(hop)
        if parsed is None:
            break
        address = parsed
        if parsed not in trusted:
            break
    return str(address)
