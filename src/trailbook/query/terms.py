"""Search terms of an event: the words and exact-match keys that the store indexes.

Exact-match keys (actor id, email, target id, ip and its network prefixes, request and
session ids, and the low-cardinality fields) become single opaque tokens: a field code
and a hash of (tenant, value). One token per value keeps the inverted index small and
its writes cheap, and the tenant inside the hash keeps tenants apart in the index
itself. The query compiler makes the same tokens from a filter's values."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b

from trailbook.query.filters import IPNetwork

# Field codes. Two letters, so a token reads e.g. "ae3f1c…" for an actor email.
TENANT = "tn"
ACTOR_ID = "ai"
ACTOR_EMAIL = "ae"
ACTOR_TYPE = "ay"
TARGET_ID = "ti"
TARGET_TYPE = "tt"
SCOPE = "sc"
RESULT = "rs"
SEVERITY = "sv"
ACTION_TYPE = "at"
CATEGORY = "ct"
ACTION = "ac"
ACTION_PREFIX = "ap"
REQUEST_ID = "rq"
SESSION_ID = "ss"
IP = "ip"

# Network prefixes indexed for each address; a CIDR query is answered with the
# tokens of the nearest indexed prefix at or below its length.
IPV4_PREFIXES = (8, 16, 24, 32)
IPV6_PREFIXES = (32, 48, 64, 128)


@lru_cache(maxsize=262_144)
def key_token(code: str, tenant_id: int, value: str) -> str:
    digest = blake2b(f"{tenant_id}\x1f{value}".encode(), digest_size=10, person=code.encode())
    return code + digest.hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _prefix_value(version: int, packed: bytes, prefix_len: int) -> str:
    """Indexed prefixes are whole bytes, so a prefix is the first bytes of the address."""
    return f"{version}:{packed[: prefix_len // 8].hex()}"


def searchable_subnets(network: IPNetwork) -> list[IPNetwork]:
    """The indexed prefixes that together cover ``network``; ValueError if too many."""
    prefixes = IPV4_PREFIXES if network.version == 4 else IPV6_PREFIXES
    stored = next(p for p in prefixes if p >= network.prefixlen)
    if stored == network.prefixlen:
        return [network]
    if stored - network.prefixlen > 8:
        raise ValueError(
            f"a /{network.prefixlen} network is too wide to search; use /{stored - 8} "
            f"or narrower (indexed prefixes: /{', /'.join(map(str, prefixes))})"
        )
    return list(network.subnets(new_prefix=stored))


def ip_network_tokens(tenant_id: int, network: IPNetwork) -> list[str]:
    """Tokens that, OR-ed, match every indexed address inside ``network``."""
    return [
        key_token(IP, tenant_id,
                  _prefix_value(net.version, net.network_address.packed, net.prefixlen))
        for net in searchable_subnets(network)
    ]


@lru_cache(maxsize=65_536)
def address_tokens(tenant_id: int, ip: str) -> tuple[str, ...]:
    """Tokens of an address (already in canonical text form) at each indexed prefix."""
    if ":" in ip:
        packed, version, prefixes = socket.inet_pton(socket.AF_INET6, ip), 6, IPV6_PREFIXES
    else:
        packed, version, prefixes = socket.inet_pton(socket.AF_INET, ip), 4, IPV4_PREFIXES
    return tuple(key_token(IP, tenant_id, _prefix_value(version, packed, p)) for p in prefixes)


@lru_cache(maxsize=65_536)
def action_tokens(tenant_id: int, action: str) -> tuple[str, ...]:
    """The exact action and each dotted prefix (``miner``, ``miner.pool``) of it."""
    parts = action.split(".")
    tokens = [key_token(ACTION, tenant_id, action)]
    tokens.extend(
        key_token(ACTION_PREFIX, tenant_id, ".".join(parts[:i])) for i in range(1, len(parts))
    )
    return tuple(tokens)


@dataclass(slots=True)
class EventTerms:
    """What the full-text index holds for one event, column by column."""

    body: str
    actor: str
    target: str
    keys: str


def build_terms(
    tenant_id: int,
    doc: dict[str, object],
    metadata_text: list[str],
) -> EventTerms:
    """Terms of a normalised event document (see ``model.normalize``)."""
    t = tenant_id
    actor = doc["actor"]
    assert isinstance(actor, dict)
    keys = [
        key_token(TENANT, t, ""),
        key_token(CATEGORY, t, str(doc["category"])),
        key_token(ACTION_TYPE, t, str(doc["action_type"])),
        key_token(SEVERITY, t, str(doc["severity"])),
        key_token(RESULT, t, str(doc["result"])),
        key_token(ACTOR_ID, t, actor["id"]),
        key_token(ACTOR_TYPE, t, actor["type"]),
    ]
    keys.extend(action_tokens(t, str(doc["action"])))
    actor_words = [actor["id"]]
    if actor["name"]:
        actor_words.append(actor["name"])
    if actor["email"]:
        keys.append(key_token(ACTOR_EMAIL, t, normalize_email(actor["email"])))
        actor_words.append(actor["email"])
    target_words: list[str] = []
    targets = doc["targets"]
    assert isinstance(targets, list)
    for target in targets:
        # Ids are found by their exact token, names by their words.
        keys.append(key_token(TARGET_ID, t, target["id"]))
        keys.append(key_token(TARGET_TYPE, t, target["type"]))
        if target["name"]:
            target_words.append(target["name"])
    for code, field in ((SCOPE, "scope"), (REQUEST_ID, "request_id"), (SESSION_ID, "session_id")):
        value = doc[field]
        if value:
            keys.append(key_token(code, t, str(value)))
    source = doc["source"]
    if isinstance(source, dict) and source.get("ip"):
        keys.extend(address_tokens(t, source["ip"]))
    body_parts = [str(doc["action"]).replace(".", " ").replace("_", " ")]
    for field in ("description", "reason", "scope"):
        value = doc[field]
        if value:
            body_parts.append(str(value))
    changes = doc["changes"]
    assert isinstance(changes, list)
    body_parts.extend(change["field"] for change in changes)
    body_parts.extend(metadata_text)
    return EventTerms(
        body="\n".join(body_parts),
        actor="\n".join(actor_words),
        target="\n".join(target_words),
        keys=" ".join(keys),
    )
