"""The client IP behind proxies: X-Forwarded-For is believed only from trusted proxies,
and then the right-most untrusted address is the client."""

from __future__ import annotations

import pytest

from trailbook.integrations.proxies import TrustedProxies, client_ip, parse_ip

TRUSTED = TrustedProxies(["10.0.0.0/8", "127.0.0.1", "fd00::/8"])


def test_no_trusted_proxies_ignores_the_header() -> None:
    assert client_ip("198.51.100.4", "203.0.113.7", TrustedProxies()) == "198.51.100.4"


def test_untrusted_peer_ignores_the_header() -> None:
    # A client speaking to us directly can write anything into X-Forwarded-For.
    assert client_ip("198.51.100.4", "203.0.113.7, 10.0.0.1", TRUSTED) == "198.51.100.4"


def test_trusted_peer_gives_the_last_hop() -> None:
    assert client_ip("10.0.0.5", "203.0.113.7", TRUSTED) == "203.0.113.7"


def test_right_most_untrusted_address_is_the_client() -> None:
    # The client forged "1.1.1.1"; our proxies appended the real address and their own.
    hops = "1.1.1.1, 203.0.113.7, 10.0.0.9, 10.1.2.3"
    assert client_ip("10.0.0.5", hops, TRUSTED) == "203.0.113.7"


def test_several_header_lines_are_one_list() -> None:
    assert client_ip("10.0.0.5", ["1.1.1.1, 203.0.113.7", "10.0.0.9"], TRUSTED) \
        == "203.0.113.7"


def test_all_hops_trusted_gives_the_left_most() -> None:
    assert client_ip("127.0.0.1", "10.0.0.2, 10.0.0.3", TRUSTED) == "10.0.0.2"


def test_garbage_hop_stops_the_walk() -> None:
    assert client_ip("10.0.0.5", "203.0.113.7, not-an-ip, 10.0.0.9", TRUSTED) == "10.0.0.9"
    assert client_ip("10.0.0.5", "unknown", TRUSTED) == "10.0.0.5"


def test_trusted_peer_without_header_is_the_client() -> None:
    assert client_ip("10.0.0.5", None, TRUSTED) == "10.0.0.5"
    assert client_ip("10.0.0.5", "", TRUSTED) == "10.0.0.5"


def test_ipv6_and_ports_and_mapped_addresses() -> None:
    assert client_ip("fd00::1", "[2001:DB8::1]:4711", TRUSTED) == "2001:db8::1"
    assert client_ip("::ffff:10.0.0.5", "203.0.113.7:5000", TRUSTED) == "203.0.113.7"
    assert client_ip("fe80::1%eth0", None, TRUSTED) == "fe80::1"


def test_unknown_peer_gives_none() -> None:
    assert client_ip(None, "203.0.113.7", TRUSTED) is None
    assert client_ip("testclient", "203.0.113.7", TRUSTED) is None


def test_parse_ip() -> None:
    assert str(parse_ip(" 203.0.113.7 ")) == "203.0.113.7"
    assert parse_ip("[::1") is None
    assert parse_ip("") is None


def test_trusted_proxies_from_a_string_and_bad_entries() -> None:
    proxies = TrustedProxies.of("10.0.0.0/8, 192.168.1.1")
    assert parse_ip("10.9.9.9") in proxies
    assert parse_ip("192.168.1.2") not in proxies
    assert not TrustedProxies.of(None)
    with pytest.raises(ValueError, match="not an IP address"):
        TrustedProxies(["proxy.internal"])
