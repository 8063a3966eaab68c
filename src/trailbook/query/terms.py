"""Search terms of an event: the words and exact-match keys that the store indexes.

Exact-match keys (actor id, email, target id, ip and its network prefixes, request and
session ids, and the low-cardinality fields) become single opaque tokens: a field code
and a hash of (tenant, value). One token per value keeps the inverted index small and
its writes cheap, and the tenant inside the hash keeps tenants apart in the index
itself. The query compiler makes the same tokens from a filter's values."""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace
from functools import lru_cache
from hashlib import blake2b
from typing import Any

import msgspec

from trailbook.query.filters import EventFilter, IPNetwork
from trailbook.query.tsvector import FIELD_BREAK, tsvector_binary

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


@lru_cache(maxsize=1024)
def _hasher(code: str, tenant_id: int) -> blake2b:
    """BLAKE2b with ``code`` as its personalisation, already fed the tenant: each
    token copies it instead of setting one up (request and session ids are new on
    almost every event)."""
    return blake2b(f"{tenant_id}\x1f".encode(), digest_size=8, person=code.encode())


def token(code: str, tenant_id: int, value: str) -> str:
    """``code`` + 64 bits of BLAKE2b over (tenant, value) in hex: 18 characters, one
    token for the FTS5 tokenizer (letters and digits only)."""
    digest = _hasher(code, tenant_id).copy()
    digest.update(value.encode())
    return code + digest.hexdigest()


# Tokens of values that repeat (actors, targets, scopes, prefixes) are worth keeping;
# request and session ids are mostly new, so they go to ``token`` uncached.
key_token = lru_cache(maxsize=32_768)(token)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _prefix_value(version: int, packed: bytes, prefix_len: int) -> str:
    """Indexed prefixes are whole bytes, so a prefix is the first bytes of the address."""
    return f"{version}:{packed[: prefix_len // 8].hex()}"


@dataclass(frozen=True, slots=True)
class NetworkLookup:
    """How to find the addresses in a network: OR the tokens of these indexed
    prefixes, then (when ``exact`` is false) keep only addresses inside the network."""

    subnets: tuple[IPNetwork, ...]
    exact: bool


MAX_SUBNETS = 256


def network_lookup(network: IPNetwork) -> NetworkLookup:
    """The indexed prefixes covering ``network``; ValueError if it is too wide."""
    prefixes = IPV4_PREFIXES if network.version == 4 else IPV6_PREFIXES
    finer = next(p for p in prefixes if p >= network.prefixlen)
    if finer == network.prefixlen:
        return NetworkLookup((network,), True)
    if finer - network.prefixlen <= 8:
        return NetworkLookup(tuple(network.subnets(new_prefix=finer)), True)
    coarser = [p for p in prefixes if p < network.prefixlen]
    if coarser:
        # e.g. an IPv6 /80 inside the indexed /64: that /64's token, then a check.
        return NetworkLookup((network.supernet(new_prefix=coarser[-1]),), False)
    raise ValueError(
        f"a /{network.prefixlen} network is too wide to search; use /{finer - 8} or "
        f"narrower (indexed prefixes: /{', /'.join(map(str, prefixes))})"
    )


def ip_network_tokens(tenant_id: int, network: IPNetwork) -> list[str]:
    """Tokens that, OR-ed, match every indexed address inside ``network`` (and, for
    an inexact lookup, some addresses around it)."""
    return [
        key_token(IP, tenant_id,
                  _prefix_value(net.version, net.network_address.packed, net.prefixlen))
        for net in network_lookup(network).subnets
    ]


@lru_cache(maxsize=32_768)
def address_tokens(tenant_id: int, ip: str) -> tuple[str, ...]:
    """Tokens of an address (already in canonical text form) at each indexed prefix."""
    if ":" in ip:
        packed, version, prefixes = socket.inet_pton(socket.AF_INET6, ip), 6, IPV6_PREFIXES
    else:
        packed, version, prefixes = socket.inet_pton(socket.AF_INET, ip), 4, IPV4_PREFIXES
    return tuple(key_token(IP, tenant_id, _prefix_value(version, packed, p)) for p in prefixes)


@lru_cache(maxsize=4096)
def action_tokens(tenant_id: int, action: str) -> tuple[str, ...]:
    """The exact action and each dotted prefix (``miner``, ``miner.pool``) of it."""
    parts = action.split(".")
    tokens = [key_token(ACTION, tenant_id, action)]
    tokens.extend(
        key_token(ACTION_PREFIX, tenant_id, ".".join(parts[:i])) for i in range(1, len(parts))
    )
    return tuple(tokens)


class EventTerms(msgspec.Struct, array_like=True, gc=False):
    """What the full-text index holds for one event, column by column."""

    body: str
    actor: str
    target: str
    keys: str
    # The same as a PostgreSQL tsvector in binary form, made only for a store that
    # wants it (see ``trailbook.query.tsvector``); empty otherwise.
    vector: bytes = b""


@lru_cache(maxsize=16_384)
def _shape_tokens(
    tenant_id: int, category: str, action: str, action_type: str, severity: str, result: str,
) -> str:
    """Tokens of the low-cardinality fields, made once per combination."""
    t = tenant_id
    return " ".join((
        key_token(TENANT, t, ""),
        key_token(CATEGORY, t, category),
        key_token(ACTION_TYPE, t, action_type),
        key_token(SEVERITY, t, severity),
        key_token(RESULT, t, result),
        *action_tokens(t, action),
    ))


@lru_cache(maxsize=16_384)
def _actor_tokens(tenant_id: int, actor_id: str, actor_type: str, email: str | None) -> str:
    tokens = [
        key_token(ACTOR_ID, tenant_id, actor_id), key_token(ACTOR_TYPE, tenant_id, actor_type)
    ]
    if email:
        tokens.append(key_token(ACTOR_EMAIL, tenant_id, normalize_email(email)))
    return " ".join(tokens)


@lru_cache(maxsize=32_768)
def _target_tokens(tenant_id: int, target_id: str, target_type: str) -> str:
    # Ids are found by their exact token, names by their words.
    return f"{key_token(TARGET_ID, tenant_id, target_id)} " + key_token(
        TARGET_TYPE, tenant_id, target_type
    )


def build_terms(
    tenant_id: int,
    doc: dict[str, Any],
    metadata_text: list[str],
    *,
    vector: bool = False,
) -> EventTerms:
    """Terms of a normalised event document (see ``model.normalize``)."""
    t = tenant_id
    actor = doc["actor"]
    action = doc["action"]
    keys = [
        _shape_tokens(t, doc["category"], action, doc["action_type"], doc["severity"],
                      doc["result"]),
        _actor_tokens(t, actor["id"], actor["type"], actor["email"]),
    ]
    target_words = []
    for target in doc["targets"]:
        keys.append(_target_tokens(t, target["id"], target["type"]))
        if target["name"]:
            target_words.append(target["name"])
    scope = doc["scope"]
    if scope:
        keys.append(key_token(SCOPE, t, scope))
    if doc["request_id"]:
        keys.append(token(REQUEST_ID, t, doc["request_id"]))
    if doc["session_id"]:
        keys.append(token(SESSION_ID, t, doc["session_id"]))
    source = doc["source"]
    if source is not None and source["ip"]:
        keys.extend(address_tokens(t, source["ip"]))
    body = [_action_words(action)]
    for value in (doc["description"], doc["reason"], scope):
        if value:
            body.append(value)
    for change in doc["changes"]:
        body.append(change["field"])
    body.extend(metadata_text)
    terms = EventTerms(
        body=FIELD_BREAK.join(body),
        actor=_actor_words(actor["id"], actor["name"], actor["email"]),
        target=FIELD_BREAK.join(target_words),
        keys=" ".join(keys),
    )
    if vector:
        terms.vector = tsvector_binary(terms)
    return terms


@lru_cache(maxsize=16_384)  # the same staff and automations act again and again
def _actor_words(actor_id: str, name: str | None, email: str | None) -> str:
    return FIELD_BREAK.join(w for w in (actor_id, name, email) if w)


@lru_cache(maxsize=4096)
def _action_words(action: str) -> str:
    return action.replace(".", " ").replace("_", " ")


def key_token_groups(tenant_id: int, flt: EventFilter) -> list[list[str]]:
    """The key tokens of ``flt``'s exact-value fields: one group per set field, its
    tokens OR-ed, the groups AND-ed. Each store's compiler writes them in its own
    syntax."""
    t = tenant_id
    groups: list[list[str]] = []

    def add(code: str, values: tuple[str, ...]) -> None:
        if values:
            groups.append([key_token(code, t, v) for v in values])

    add(CATEGORY, flt.categories)
    actions = [key_token(ACTION, t, a) for a in flt.actions]
    actions += [key_token(ACTION_PREFIX, t, p) for p in flt.action_prefixes]
    if actions:
        groups.append(actions)
    add(ACTION_TYPE, flt.action_types)
    add(SEVERITY, flt.severities)
    add(RESULT, flt.results)
    add(ACTOR_ID, flt.actor_ids)
    add(ACTOR_EMAIL, tuple(normalize_email(e) for e in flt.actor_emails))
    add(ACTOR_TYPE, flt.actor_types)
    add(TARGET_ID, flt.target_ids)
    add(TARGET_TYPE, flt.target_types)
    add(SCOPE, flt.scopes)
    add(REQUEST_ID, flt.request_ids)
    add(SESSION_ID, flt.session_ids)
    if flt.ips:
        groups.append([tok for network in flt.ips for tok in ip_network_tokens(t, network)])
    return groups


def inexact_networks(networks: tuple[IPNetwork, ...]) -> list[IPNetwork]:
    """The networks whose tokens also match addresses around them: the store checks
    the address in the document for these."""
    return [n for n in networks if not network_lookup(n).exact]


def exact_networks_only(flt: EventFilter) -> EventFilter:
    """``flt`` without its inexact networks (an exclusion can leave out by token only
    the networks its tokens cover exactly; the rest is checked on the document)."""
    return replace(flt, ips=tuple(n for n in flt.ips if network_lookup(n).exact))


def without_tags(flt: EventFilter) -> EventFilter:
    """``flt`` without its tags and excluded tags: what the events' own index answers
    (tags live in the annotations, which each store checks apart)."""
    exclude = flt.excluded()
    if exclude is not None and exclude.tags:
        exclude = replace(exclude, tags=())
    if not flt.tags and exclude is flt.exclude:
        return flt
    return replace(flt, tags=(), exclude=exclude if exclude and not exclude.is_empty()
                   else None)
