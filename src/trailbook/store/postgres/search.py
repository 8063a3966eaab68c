"""Compile an ``EventFilter`` into one PostgreSQL query, newest first.

Tenant and time are the primary key's prefix (tenant_id, pos), which PostgreSQL walks
backwards across the month partitions the time range leaves. Every other condition is
one ``tsquery`` against the event's ``search`` tsvector (GIN): exact values as key
tokens (weight D, the same tokens SQLite's FTS5 index holds), words with the weight of
their column (see ``fulltext``). A page of results asks the GIN index first and walks
by time when the terms are common (``first_page.py``). Tags live in the annotations
table: a tag condition is a semi-join (or anti-join) on its tag index."""

from __future__ import annotations

import re

from trailbook.query import terms as T
from trailbook.query.filters import EventFilter
from trailbook.store.positions import pos_bounds
from trailbook.store.postgres import fulltext as F

_COLUMNS = "pos, seq, doc, hash"
_IP_IN = "trailbook_source_ip(doc) <<= %s::inet"
_QUOTED = re.compile(r'"([^"]*)"')
_TAGGED = ("SELECT a.event_pos FROM annotations a WHERE a.tenant_id = %s AND a.kind = 'tag'"
           " AND a.body = ANY(%s::text[])")

def _prefix_words(text: str, weight: str) -> str | None:
    found = F.words(text)
    if not found:
        return None
    return F.all_of([F.lexeme(w, weight, prefix=True) for w in found])


def _free_text(text: str) -> str | None:
    """Each bare word, and each "quoted phrase", somewhere in the text columns."""
    parts = [p for p in (F.phrase(q, F.TEXT_WEIGHTS) for q in _QUOTED.findall(text)) if p]
    parts += [F.lexeme(w, F.TEXT_WEIGHTS) for w in F.words(_QUOTED.sub(" ", text))]
    return F.all_of(parts) if parts else None


def _conditions(tenant_id: int, flt: EventFilter) -> list[str]:
    """One tsquery condition per set field of ``flt`` (time and exclusions aside)."""
    conditions = [F.any_of([F.lexeme(tok, F.KEYS) for tok in group])
                  for group in T.key_token_groups(tenant_id, flt)]
    if flt.actor:
        actor = _prefix_words(flt.actor, F.ACTOR)
        if actor:
            conditions.append(actor)
    if flt.target:
        exact = F.lexeme(T.key_token(T.TARGET_ID, tenant_id, flt.target), F.KEYS)
        named = _prefix_words(flt.target, F.TARGET)
        conditions.append(F.any_of([exact, named]) if named else exact)
    names = [p for p in (F.phrase(n, F.TARGET) for n in flt.target_names) if p]
    if names:
        conditions.append(F.any_of(names))
    if flt.text:
        text = _free_text(flt.text)
        if text:
            conditions.append(text)
    return conditions


def tsquery_text(tenant_id: int, flt: EventFilter) -> str | None:
    """The filter's conditions beyond tenant and time, as a tsquery literal."""
    conditions = _conditions(tenant_id, flt)
    exclude = flt.excluded()
    if exclude is not None:
        # Inexact networks are left out by the SQL condition instead (see below).
        negated = _conditions(tenant_id, T.exact_networks_only(exclude))
        if negated:
            conditions.append("!" + F.any_of(negated) if len(negated) > 1
                              else "!" + negated[0])
    return F.all_of(conditions) if conditions else None


def compile_match(
    tenant_id: int, flt: EventFilter, before_pos: int | None = None
) -> tuple[str, list[object]]:
    """``FROM events WHERE …`` of the events matching ``flt``, and its parameters."""
    low, high = pos_bounds(flt, before_pos)
    where = ["tenant_id = %s", "pos >= %s", "pos < %s"]
    params: list[object] = [tenant_id, low, high]
    query = tsquery_text(tenant_id, flt)
    if query is not None:
        where.append("search @@ %s::tsquery")
        params.append(query)
    if T.inexact_networks(flt.ips):
        # The tokens matched the indexed prefix around each network; keep the inside.
        where.append("(" + " OR ".join(_IP_IN for _ in flt.ips) + ")")
        params += [str(n) for n in flt.ips]
    exclude = flt.excluded()
    left_out = T.inexact_networks(exclude.ips) if exclude else []
    if left_out:
        where.append("NOT coalesce(" + " OR ".join(_IP_IN for _ in left_out) + ", false)")
        params += [str(n) for n in left_out]
    if flt.tags:
        where.append(f"pos IN ({_TAGGED})")
        params += [tenant_id, list(flt.tags)]
    if exclude is not None and exclude.tags:
        # NOT EXISTS, not NOT IN: an anti-join, however many events carry the tag.
        where.append(f"NOT EXISTS ({_TAGGED} AND a.event_pos = events.pos)")
        params += [tenant_id, list(exclude.tags)]
    return f"FROM events WHERE {' AND '.join(where)}", params

