"""The live tail: events that arrive after a stream opens and match its filter, as the
caller may read them.

Arrival order is ``seq`` (an event's position comes from the client's clock, so an
event sent late sits among old ones): the tail reads the chain forward by seq and
tests each new event with the reference filter evaluator, after narrowing the filter to
the caller's categories. No store-side search is involved, so a tail costs one indexed
range read per poll whatever the filter."""

from __future__ import annotations

import orjson

from trailbook.query.evaluate import matches
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import RequestContext
from trailbook.service.access.principal import Principal
from trailbook.service.access.reading import ReadService
from trailbook.store.base import Store
from trailbook.store.records import StoredEvent

BATCH = 500  # new events read per poll at most


class TailService:
    def __init__(self, store: Store, reads: ReadService) -> None:
        self.store = store
        self.reads = reads

    def head(self, principal: Principal) -> int:
        found = self.store.chain_head(principal.tenant.id)
        return found.seq if found else 0

    def start(self, principal: Principal, flt: EventFilter, *,
              context: RequestContext | None = None, query: str | None = None) -> int:
        """Check a tail's filter and audit its opening (for staff, as a search); the
        seq the tail starts after: the chain's head now. The caller must hold
        ``events.read``."""
        principal.require("events.read")
        self.reads.scoped(principal, flt)  # refuses personal-data filters without the right
        if context is not None:
            self.reads.audit_search(principal, context, "search.tail", flt, query, None)
        return self.head(principal)

    def poll(self, principal: Principal, flt: EventFilter, after_seq: int,
             limit: int = BATCH) -> tuple[list[StoredEvent], int]:
        """The events stored after ``after_seq`` (at most ``limit`` of them read) that
        match ``flt`` and that ``principal`` may read, in seq order, and the seq to poll
        after next time. Fewer than ``limit`` read means the tail has caught up."""
        found = self.store.events_after_seq(principal.tenant.id, after_seq, limit)
        if not found:
            return [], after_seq
        scoped = self.reads.scoped(principal, flt)
        if scoped is None:
            return [], found[-1].seq
        exclude = scoped.excluded()
        # Events are tagged after they arrive, so a new one rarely has tags; a tag
        # filter is still honoured (an event tagged by the time it is read).
        tags = (self.store.annotations.tags_of(principal.tenant.id, [e.pos for e in found])
                if scoped.tags or (exclude is not None and exclude.tags) else {})
        return ([e for e in found
                 if matches(scoped, orjson.loads(e.doc), tags.get(e.pos, frozenset()))],
                found[-1].seq)
