"""Compile an ``EventFilter`` into one SQLite query, newest first.

Two plans:

* B-tree: tenant + time only. The index ends in ``pos``, so SQLite walks it
  backwards from the cursor and stops at the limit.
* Full-text: anything else, category and action included. Every condition is a
  token in the FTS5 ``keys`` column or words in its text columns, so the FTS5 query
  alone decides the result and returns rowids (= pos) newest first; the limit applies
  inside it.

Tags are not in the events' index but in the annotations table: a tag condition is
``pos IN`` (or ``NOT IN``) the positions its tags mark, read from the annotations'
tag index, on either plan; with nothing but tags and time, that index drives the
query instead (a third plan: see ``_tag_driven``)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from trailbook.query import terms as T
from trailbook.query.filters import EventFilter
from trailbook.store.positions import pos_bounds

_COLUMNS = "e.pos, e.seq, e.doc, e.hash"
_IP_IN = "trailbook_ip_in(json_extract(CAST(e.doc AS TEXT), '$.source.ip'), ?)"
_WORD = re.compile(r"\w+", re.UNICODE)
_PHRASE = re.compile(r'"([^"]*)"')
_TAGGED = ("SELECT event_pos FROM annotations WHERE tenant_id = ? AND kind = 'tag'"
           " AND body IN ({})")


def _or(tokens: list[str]) -> str:
    return "(" + " OR ".join(f'"{tok}"' for tok in tokens) + ")"


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _phrase(text: str) -> str | None:
    words = _words(text)
    return '"' + " ".join(words) + '"' if words else None


def text_query(text: str) -> str | None:
    """Free text as an FTS5 expression over the text columns: each bare word must
    appear, each "quoted phrase" must appear as a phrase."""
    parts: list[str] = []
    for phrase in _PHRASE.findall(text):
        words = _words(phrase)
        if words:
            parts.append('"' + " ".join(words) + '"')
    rest = _PHRASE.sub(" ", text)
    parts.extend(f'"{word}"' for word in _words(rest))
    if not parts:
        return None
    return "{body actor target} : (" + " AND ".join(parts) + ")"


def prefix_words_query(column: str, text: str) -> str | None:
    words = _words(text)
    if not words:
        return None
    return f"{column} : (" + " AND ".join(f'"{w}"*' for w in words) + ")"


def _conditions(tenant_id: int, flt: EventFilter) -> list[str]:
    """One FTS5 condition per set field of ``flt`` (time and exclusions aside)."""
    conditions = ["keys : " + _or(group) for group in T.key_token_groups(tenant_id, flt)]
    if flt.actor:
        expr = prefix_words_query("actor", flt.actor)
        if expr:
            conditions.append(expr)
    if flt.target:
        # The exact id, or words of the name.
        exact = f'keys : "{T.key_token(T.TARGET_ID, tenant_id, flt.target)}"'
        words = prefix_words_query("target", flt.target)
        conditions.append(f"({exact} OR {words})" if words else exact)
    phrases = [p for p in (_phrase(name) for name in flt.target_names) if p]
    if phrases:
        conditions.append("target : (" + " OR ".join(phrases) + ")")
    if flt.text:
        expr = text_query(flt.text)
        if expr:
            conditions.append(expr)
    return conditions


def match_expression(tenant_id: int, flt: EventFilter, tenant_token: bool = True) -> str:
    """The FTS5 query of ``flt``. Words are shared by all tenants: when no key token
    (which names its tenant) is asked for, the tenant's own token keeps the match
    inside the tenant, unless ``tenant_token`` is False and there is something else to
    match (the caller then keeps to the tenant by other means)."""
    conditions = _conditions(tenant_id, flt)
    if not any(c.startswith("keys") for c in conditions) and (tenant_token or not conditions):
        conditions.insert(0, f'keys : "{T.key_token(T.TENANT, tenant_id, "")}"')
    expression = " AND ".join(f"({c})" for c in conditions)
    exclude = flt.excluded()
    if exclude is not None:
        # Inexact networks are left out by the SQL condition instead (see below).
        negated = _conditions(tenant_id, T.exact_networks_only(exclude))
        if negated:
            expression = f"({expression}) NOT (" + " OR ".join(
                f"({c})" for c in negated) + ")"
    return expression


def _needs_fulltext(flt: EventFilter) -> bool:
    """Whether anything beyond tenant, time and tags is asked for."""
    untagged = T.without_tags(flt)
    return any(getattr(untagged, name) not in (None, ()) for name in EventFilter.__slots__
               if name not in ("since_us", "until_us"))


def tag_conditions(tenant_id: int, flt: EventFilter, column: str
                   ) -> tuple[list[str], list[object]]:
    """``flt``'s tags (and excluded tags) as conditions on the position ``column``."""
    where: list[str] = []
    params: list[object] = []
    exclude = flt.excluded()
    for tags, test in ((flt.tags, "IN"), (exclude.tags if exclude else (), "NOT IN")):
        if tags:
            where.append(f"{column} {test} ({_TAGGED.format(', '.join('?' * len(tags)))})")
            params += [tenant_id, *tags]
    return where, params


def _tag_driven(tenant_id: int, flt: EventFilter, low: int,
                high: int) -> tuple[str, list[object], str]:
    """Tags (and time) only: driven by the tag index, the positions the tags mark in
    the time range come sorted, newest first, each looked up by rowid. (The unary +
    keeps SQLite from walking the tenant's whole index instead.)"""
    marked = (f"e.pos IN ({_TAGGED.format(', '.join('?' * len(flt.tags)))}"
              " AND event_pos >= ? AND event_pos < ?)")
    unwanted, params = tag_conditions(tenant_id, replace(flt, tags=()), "e.pos")
    return (" AND ".join([f"FROM events e WHERE {marked}", "+e.tenant_id = ?", *unwanted]),
            [tenant_id, *flt.tags, low, high, tenant_id, *params], "e.pos")


def compile_match(
    tenant_id: int, flt: EventFilter, before_pos: int | None = None,
    tenant_token: bool = True,
) -> tuple[str, list[object], str]:
    """``FROM … WHERE …`` of the events matching ``flt`` (as ``e``), its parameters,
    and the column that orders them (newest first when descending).

    ``tenant_token``: whether a full-text match of words alone also matches the
    tenant's token. The join to the events table keeps to the tenant either way; the
    token only helps when the tenant holds a small share of the events (then the words'
    matches of other tenants are skipped by the index, not by the join). For a tenant
    that holds most of them, it only costs: ANDing a phrase with a doclist of every
    event took 2 to 5 times as long at ten million events."""
    low, high = pos_bounds(flt, before_pos)
    if not _needs_fulltext(flt):
        if flt.tags:
            return _tag_driven(tenant_id, flt, low, high)
        tagged, tag_params = tag_conditions(tenant_id, flt, "e.pos")
        return (" AND ".join(["FROM events e WHERE e.tenant_id = ? AND e.pos >= ?"
                              " AND e.pos < ?", *tagged]),
                [tenant_id, low, high, *tag_params], "e.pos")
    # FTS5 walks its matches newest first (ORDER BY rowid is its own order) and the
    # join stops at the limit; rows the index over-matches are dropped on the way.
    where = ["events_fts MATCH ?", "f.rowid >= ?", "f.rowid < ?", "e.tenant_id = ?"]
    params: list[object] = [match_expression(tenant_id, flt, tenant_token), low, high,
                            tenant_id]
    tagged, tag_params = tag_conditions(tenant_id, flt, "f.rowid")
    where += tagged
    params += tag_params
    if T.inexact_networks(flt.ips):
        where.append("(" + " OR ".join(_IP_IN for _ in flt.ips) + ")")
        params += [str(n) for n in flt.ips]
    exclude = flt.excluded()
    left_out = T.inexact_networks(exclude.ips) if exclude else []
    if left_out:
        where.append("NOT (" + " OR ".join(_IP_IN for _ in left_out) + ")")
        params += [str(n) for n in left_out]
    return (f"FROM events_fts f JOIN events e ON e.pos = f.rowid WHERE {' AND '.join(where)}",
            params, "f.rowid")


def compile_positions(tenant_id: int, flt: EventFilter) -> tuple[str, list[object], str]:
    """Like ``compile_match``, for queries that need only the positions of the matches
    (counts, histograms): on the full-text path without a check of the address in the
    document, the index alone answers (its match holds a tenant token), with no join
    to the events table."""
    exclude = flt.excluded()
    if not _needs_fulltext(flt) or T.inexact_networks(
            (*flt.ips, *(exclude.ips if exclude else ()))):
        return compile_match(tenant_id, flt)
    low, high = pos_bounds(flt, None)
    tagged, tag_params = tag_conditions(tenant_id, flt, "f.rowid")
    return (" AND ".join(["FROM events_fts f WHERE events_fts MATCH ? AND f.rowid >= ?"
                          " AND f.rowid < ?", *tagged]),
            [match_expression(tenant_id, flt), low, high, *tag_params], "f.rowid")


def compile_search(
    tenant_id: int, flt: EventFilter, before_pos: int | None, limit: int,
    tenant_token: bool = True,
) -> tuple[str, list[object]]:
    source, params, order = compile_match(tenant_id, flt, before_pos, tenant_token)
    return f"SELECT {_COLUMNS} {source} ORDER BY {order} DESC LIMIT ?", [*params, limit]


def ip_in(address: str | None, network: str) -> bool:
    """SQL function ``trailbook_ip_in``: is ``address`` inside ``network``?"""
    if not address:
        return False
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network)
    except ValueError:
        return False
