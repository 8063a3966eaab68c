"""The filter parameters of a search, declared once for every endpoint that takes
them (search, facets, export, live tail), so OpenAPI lists them. The values are read
from the query string by ``filter_params`` and ``combine`` (after the caller is
authenticated); the ``search_params`` dependency only hands back ``query``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request


def filter_params(request: Request, *own: str) -> dict[str, list[str]]:
    """The query string's filter parameters (every value of each), without the
    endpoint's ``own`` ones; ``filter_from_params`` refuses any it does not know."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in own:
            params.setdefault(key, []).append(value)
    return params

MultiQuery = Annotated[list[str] | None, Query()]


def search_params(
    since: Annotated[str | None, Query(description="RFC 3339, a date, or 24h/7d back")] = None,
    until: Annotated[str | None, Query(description="exclusive upper bound, same forms")] = None,
    last: Annotated[str | None, Query(description="a span back from now: 30m, 24h, 7d")] = None,
    category: MultiQuery = None,
    action: Annotated[list[str] | None, Query(description="exact, or prefix.*")] = None,
    action_type: MultiQuery = None,
    severity: MultiQuery = None,
    result: MultiQuery = None,
    actor: Annotated[str | None, Query(description="words matching actor id/name/email")] = None,
    actor_id: MultiQuery = None,
    actor_email: MultiQuery = None,
    actor_type: MultiQuery = None,
    target: Annotated[str | None, Query(description="words matching target ids/names")] = None,
    target_id: MultiQuery = None,
    target_name: MultiQuery = None,
    target_type: MultiQuery = None,
    scope: MultiQuery = None,
    ip: Annotated[list[str] | None, Query(description="an address or CIDR network")] = None,
    request_id: MultiQuery = None,
    session_id: MultiQuery = None,
    q: Annotated[str | None, Query(description='free text: words and "phrases"')] = None,
    tag: Annotated[list[str] | None, Query(description="annotation tags")] = None,
    query: Annotated[str | None, Query(
        description='the query language, e.g. `action:miner.* -result:success "rack B4"`;'
        " ANDed with the other parameters")] = None,
) -> str | None:
    return query
