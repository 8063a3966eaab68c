"""Reading events as a caller: only the categories their role reads, personal data
masked unless they may see it, and every search and view by staff audited."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from trailbook.errors import ErrorDetail, Forbidden, NotFound
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import RequestContext, SelfAudit
from trailbook.service.access.masking import mask_text
from trailbook.service.access.principal import Principal
from trailbook.service.events import DEFAULT_PAGE, EventService, SearchPage
from trailbook.service.facets import Facet, FacetService, Histogram, Total
from trailbook.store.records import StoredEvent

MAX_AUDITED_QUERY = 2000  # characters of a query kept in its audit event
RELATED_PAGE = 10  # related events shown for each link an event has


@dataclass(frozen=True)
class Related:
    """Events linked to one event by a shared value."""

    label: str  # "same request", "same session", "same target"
    param: str  # the search parameter that finds them all
    value: str
    events: list[StoredEvent]


@dataclass(frozen=True)
class Summary:
    total: Total
    facets: list[Facet]
    histogram: Histogram | None


def _personal_filters(flt: EventFilter) -> list[str]:
    used = []
    for part in (flt, flt.excluded()):
        if part is None:
            continue
        if part.actor_emails:
            used.append("actor_email")
        if part.ips:
            used.append("ip")
    return used


class ReadService:
    def __init__(self, events: EventService, facets: FacetService, audit: SelfAudit) -> None:
        self.events = events
        self.facets = facets
        self.audit = audit

    def scoped(self, principal: Principal, flt: EventFilter) -> EventFilter | None:
        """``flt`` as ``principal`` may run it; None when it can match nothing they may
        read. Filtering by personal data needs the right to see it."""
        if not principal.sees_personal_data:
            used = _personal_filters(flt)
            if used:
                raise Forbidden("your role may not search by personal data",
                                [ErrorDetail(used[0], "needs the personal_data permission")])
        return principal.restrict(flt)

    def audit_search(self, principal: Principal, context: RequestContext, action: str,
                      flt: EventFilter, query: str | None, found: int | None) -> None:
        if not principal.is_staff:
            return
        metadata: dict[str, object] = {"filter": flt.describe()}
        if query:
            metadata["query"] = query[:MAX_AUDITED_QUERY]
        if found is not None:
            metadata["results"] = found
        self.audit.access(principal, context, action, "read", metadata=metadata)

    def search(self, principal: Principal, flt: EventFilter, cursor: str | None,
               limit: int = DEFAULT_PAGE, *, context: RequestContext,
               query: str | None = None) -> SearchPage:
        """A page of matches. The first page of a search by staff is audited (further
        pages of it are the same search)."""
        scoped = self.scoped(principal, flt)
        page = (SearchPage([], None) if scoped is None else
                self.events.search(principal.tenant, scoped, cursor, limit))
        if cursor is None:
            self.audit_search(principal, context, "search.run", flt, query, len(page.events))
        return page

    def readable(self, principal: Principal, event_id: str) -> StoredEvent:
        """The event, if ``principal`` may read it (not audited: for what is read
        alongside it, such as its annotations)."""
        found = self.events.get(principal.tenant, event_id)
        if principal.categories is not None:
            category = orjson.loads(found.doc).get("category")
            if not principal.may_read_category(category):
                # Not "forbidden": the caller is not told it exists.
                raise NotFound("no such event", [ErrorDetail("id", event_id)])
        return found

    def get(self, principal: Principal, event_id: str, *, context: RequestContext
            ) -> StoredEvent:
        found = self.readable(principal, event_id)
        if principal.is_staff:
            self.audit.access(principal, context, "event.view", "read",
                              targets=[{"type": "event", "id": event_id}])
        return found

    def related(self, principal: Principal, doc: dict[str, object]) -> list[Related]:
        """The newest events sharing ``doc``'s request id, session id or primary target,
        among those the caller may read (part of viewing it: not audited again)."""
        links: list[tuple[str, str, str, EventFilter]] = []
        request_id, session_id = doc.get("request_id"), doc.get("session_id")
        if isinstance(request_id, str):
            links.append(("same request", "request_id", request_id,
                          EventFilter(request_ids=(request_id,))))
        if isinstance(session_id, str):
            links.append(("same session", "session_id", session_id,
                          EventFilter(session_ids=(session_id,))))
        targets = doc.get("targets")
        if isinstance(targets, list) and targets and isinstance(targets[0], dict):
            target_id = targets[0].get("id")
            if isinstance(target_id, str):
                links.append(("same target", "target_id", target_id,
                              EventFilter(target_ids=(target_id,))))
        found = []
        for label, param, value, flt in links:
            scoped = principal.restrict(flt)
            events = ([] if scoped is None else
                      self.events.search(principal.tenant, scoped, None,
                                         RELATED_PAGE + 1).events)
            events = [e for e in events if orjson.loads(e.doc).get("id") != doc.get("id")]
            found.append(Related(label, param, value, events[:RELATED_PAGE]))
        return found

    def summary(self, principal: Principal, flt: EventFilter, fields: tuple[str, ...],
                top: int, budget_ms: int, *, histogram: bool, context: RequestContext,
                query: str | None = None) -> Summary:
        scoped = self.scoped(principal, flt)
        if scoped is None:
            summary = Summary(Total(0, True), [Facet(f, [], False) for f in fields], None)
        else:
            tenant = principal.tenant
            mask = None if principal.sees_personal_data else mask_text
            summary = Summary(
                self.facets.total(tenant, scoped, budget_ms),
                self.facets.facets(tenant, scoped, fields, top, budget_ms, mask=mask),
                self.facets.histogram(tenant, scoped, budget_ms) if histogram else None)
        self.audit_search(principal, context, "search.facets", flt, query,
                           summary.total.count)
        return summary
