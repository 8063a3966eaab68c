"""An ``EventFilter`` evaluated in plain Python on one stored event document.

The reference for what a filter means: the store compilers (FTS5 on SQLite, tsquery
on PostgreSQL) must return exactly the events this accepts, which a property test
checks; and the way to test a single event against a filter where there is no index
at all (an incoming event against alert rules). Tags are not part of the document
(they are annotations, stored beside it): a caller that knows an event's tags passes
them, and without them the event has none."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from trailbook.model.timefmt import parse_rfc3339
from trailbook.query.filters import EventFilter
from trailbook.query.terms import normalize_email
from trailbook.query.tsvector import words

_QUOTED = re.compile(r'"([^"]*)"')


def _strings(value: Any) -> Iterator[str]:
    """String values in free JSON, in document order (keys are not searched)."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _parts(doc: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The words of each searchable field, by column, a field at a time."""
    actor = doc["actor"]
    body = [doc["action"].replace(".", " ").replace("_", " ")]
    body += [v for v in (doc.get("description"), doc.get("reason"), doc.get("scope")) if v]
    body += [change["field"] for change in doc.get("changes") or []]
    body += list(_strings(doc.get("metadata")))
    return {
        "actor": [words(v) for v in (actor.get("id"), actor.get("name"), actor.get("email"))
                  if v],
        "target": [words(t["name"]) for t in doc.get("targets") or [] if t.get("name")],
        "body": [words(v) for v in body],
    }


def _has_phrase(fields: list[list[str]], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(field[i:i + size] == phrase for field in fields
               for i in range(len(field) - size + 1))


def _prefixes_found(fields: list[list[str]], query: str) -> bool:
    every = [w for field in fields for w in field]
    return all(any(w.startswith(q) for w in every) for q in words(query))


def _text_matches(parts: dict[str, list[list[str]]], text: str) -> bool:
    fields = parts["body"] + parts["actor"] + parts["target"]
    phrases = [words(p) for p in _QUOTED.findall(text)]
    bare = words(_QUOTED.sub(" ", text))
    if not any(phrases) and not bare:
        return True
    return (all(_has_phrase(fields, p) for p in phrases if p)
            and all(_has_phrase(fields, [w]) for w in bare))


def _ip(doc: dict[str, Any]) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    source = doc.get("source") or {}
    return ipaddress.ip_address(source["ip"]) if source.get("ip") else None


def _checks(flt: EventFilter, doc: dict[str, Any], tags: frozenset[str]) -> Iterator[bool]:
    """One verdict per set field of ``flt`` (time included)."""
    occurred = parse_rfc3339(doc["occurred_at"])
    if flt.since_us is not None:
        yield occurred >= flt.since_us
    if flt.until_us is not None:
        yield occurred < flt.until_us
    actor = doc["actor"]
    targets = doc.get("targets") or []
    simple = (
        (flt.categories, doc["category"]), (flt.action_types, doc["action_type"]),
        (flt.severities, doc["severity"]), (flt.results, doc["result"]),
        (flt.actor_ids, actor["id"]), (flt.actor_types, actor["type"]),
        (flt.scopes, doc.get("scope")), (flt.request_ids, doc.get("request_id")),
        (flt.session_ids, doc.get("session_id")),
    )
    for wanted, value in simple:
        if wanted:
            yield value in wanted
    if flt.actions or flt.action_prefixes:
        action = doc["action"]
        yield action in flt.actions or any(action.startswith(p + ".")
                                           for p in flt.action_prefixes)
    if flt.actor_emails:
        email = actor.get("email")
        yield email is not None and normalize_email(email) in {
            normalize_email(e) for e in flt.actor_emails}
    if flt.target_ids:
        yield any(t["id"] in flt.target_ids for t in targets)
    if flt.target_types:
        yield any(t["type"] in flt.target_types for t in targets)
    if flt.ips:
        address = _ip(doc)
        yield address is not None and any(address in n for n in flt.ips)
    if flt.actor or flt.target or flt.target_names or flt.text:
        parts = _parts(doc)
        if flt.actor:
            yield _prefixes_found(parts["actor"], flt.actor)
        if flt.target:
            yield (any(t["id"] == flt.target for t in targets)
                   or (bool(words(flt.target)) and _prefixes_found(parts["target"], flt.target)))
        if flt.target_names:
            yield any(_has_phrase(parts["target"], words(n)) for n in flt.target_names
                      if words(n))
        if flt.text:
            yield _text_matches(parts, flt.text)
    if flt.tags:
        yield not tags.isdisjoint(flt.tags)


def matches(flt: EventFilter, doc: dict[str, Any],
            tags: frozenset[str] = frozenset()) -> bool:
    """Does the event ``doc`` (its stored document), tagged ``tags``, pass ``flt``?"""
    if not all(_checks(flt, doc, tags)):
        return False
    exclude = flt.excluded()
    # Left out if it meets any one excluded field.
    return exclude is None or not any(_checks(exclude, doc, tags))
