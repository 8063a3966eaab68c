"""The log viewer: the logs page (tabs, query, filters, results by cursor) and one
event's page (fields, diff, raw JSON, seal, related events, comments and tags).

The page's URL holds the whole search in the same parameters as ``GET /api/v1/events``,
so the page's scripts send that query string as it is to the facets, paging, tail and
export endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.api.auth import audit_denied, request_context
from trailbook.api.render import event_json
from trailbook.api.saved_searches import console_url
from trailbook.errors import Forbidden, QuerySyntaxError, TrailbookError
from trailbook.query.language import combine
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.store.records import SavedSearch, StoredEvent
from trailbook.web.guard import PageRoute, page_principal
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
# Parameters of the page that are not filters.
OWN = ("cursor", "query")
TIME_PRESETS = (("", "Any time"), ("15m", "Last 15 minutes"), ("1h", "Last hour"),
                ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
                ("90d", "Last 90 days"))
RESULTS = ("success", "failure")
SEVERITIES = ("info", "notice", "warning", "critical")


@dataclass
class SearchForm:
    """The search as the URL gives it: the query, the non-empty filter parameters."""

    query: str
    params: dict[str, list[str]]
    cursor: str | None

    @classmethod
    def of(cls, request: Request) -> SearchForm:
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            if key not in OWN and value.strip():
                params.setdefault(key, []).append(value.strip())
        return cls(request.query_params.get("query", "").strip(), params,
                   request.query_params.get("cursor") or None)

    def one(self, name: str) -> str:
        values = self.params.get(name)
        return values[0] if values else ""

    def encoded(self, **replace: str | None) -> str:
        """The search as a query string, with some parameters replaced or dropped."""
        items: list[tuple[str, str]] = []
        if self.query:
            items.append(("query", self.query))
        for key, values in self.params.items():
            if key not in replace:
                items += [(key, v) for v in values]
        items += [(k, v) for k, v in replace.items() if v]
        return urlencode(items)


def saved_entry(saved: SavedSearch, form: SearchForm) -> dict[str, Any]:
    """A saved search as the page lists it: a link that runs it, what it searches
    (for a tooltip), and whether it is the search on the page."""
    params = "; ".join(f"{key}: {', '.join(values)}" for key, values in saved.params.items())
    same = saved.query == form.query and {k: sorted(v) for k, v in saved.params.items()} == {
        k: sorted(v) for k, v in form.params.items()}
    return {"id": saved.id, "name": saved.name, "url": console_url(saved),
            "summary": " · ".join(p for p in (saved.query, params) if p) or "every event",
            "current": same}


def event_row(event: StoredEvent, masked: bool) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(event_json(event, masked=masked))
    return doc


def _tabs(tb: Trailbook, principal: Principal) -> list[str]:
    return [c for c in tb.tenants.categories(principal.tenant)
            if principal.may_read_category(c)]


@router.get("/logs")
async def logs(request: Request) -> Response:
    principal = await page_principal(request, "events.read")
    tb: Trailbook = request.app.state.trailbook
    form = SearchForm.of(request)
    context = request_context(request)
    masked = not principal.sees_personal_data
    error: TrailbookError | None = None

    def work() -> tuple[list[dict[str, Any]], str | None]:
        flt = combine(form.query or None, form.params)
        page = tb.reads.search(principal, flt, form.cursor, PAGE_SIZE, context=context,
                               query=form.query or None)
        return [event_row(e, masked) for e in page.events], page.next_cursor

    rows: list[dict[str, Any]] = []
    next_cursor: str | None = None
    try:
        rows, next_cursor = await run_in_threadpool(work)
    except TrailbookError as exc:
        if exc.status >= 500:
            raise
        if isinstance(exc, Forbidden):
            await audit_denied(request, exc)
        error = exc
    saved = await run_in_threadpool(tb.saved_searches.list, principal)
    categories = form.params.get("category", [])
    return render(
        request, "logs.html", principal, active="logs", title="Logs",
        form=form, tabs=_tabs(tb, principal),
        active_tab=categories[0] if len(categories) == 1 else "",
        rows=rows, next_cursor=next_cursor, masked=masked,
        error=error, error_position=error.position if isinstance(error, QuerySyntaxError)
        else None,
        search=form.encoded(), presets=TIME_PRESETS, results=RESULTS, severities=SEVERITIES,
        can_export=principal.can("events.export"),
        page_size=PAGE_SIZE,
        saved_searches=[saved_entry(s, form) for s in saved],
    )


def _diff_rows(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``changes`` for display: each side as text, and whether it is a scalar (shown
    inline) or structured (shown pretty-printed)."""
    out = []
    for change in changes:
        old, new = change.get("old"), change.get("new")
        out.append({"field": change.get("field", ""), "old": old, "new": new,
                    "added": old is None and new is not None,
                    "removed": new is None and old is not None})
    return out


@router.get("/events/{event_id}")
async def event_page(request: Request, event_id: str) -> Response:
    principal = await page_principal(request, "events.read")
    tb: Trailbook = request.app.state.trailbook
    context = request_context(request)
    masked = not principal.sees_personal_data

    def work() -> dict[str, Any]:
        found = tb.reads.get(principal, event_id, context=context)
        doc = event_row(found, masked)
        comments, tags = tb.annotations.list(principal, event_id)
        return {
            "event": doc,
            "raw": orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
                                ).decode(),
            "diff": _diff_rows(doc.get("changes") or []),
            "seal": tb.integrity.seal_of(principal.tenant, found)
            if principal.can("integrity.verify") else None,
            "related": [(r, [event_row(e, masked) for e in r.events])
                        for r in tb.reads.related(principal, doc)],
            "comments": comments, "tags": tags,
        }

    shown = await run_in_threadpool(work)
    return render(request, "event.html", principal, active="logs",
                  title=shown["event"]["action"], masked=masked,
                  can_annotate=principal.can("events.annotate"), **shown)
