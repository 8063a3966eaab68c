"""Saved searches: each staff user's named searches, a query in the query language and
the other filter parameters (as the logs page's URL holds them), to run again later.

They belong to one user: only staff users have them (an API key is refused), each
sees and changes only their own (another's, or another tenant's, is not found), and
using them needs ``events.read``. Running one still reads only the categories the
user may read, since it is an ordinary search. They are personal, not administrative
changes, so they are not audited; a search they run is, as any search is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from trailbook.errors import ErrorDetail, Forbidden, NotFound, ValidationFailed, field_error
from trailbook.model.text_rules import bad_characters
from trailbook.model.timefmt import format_us, now_us
from trailbook.query.filters import EventFilter
from trailbook.query.language import MAX_QUERY, combine
from trailbook.service.access.principal import Principal
from trailbook.store.base import Store
from trailbook.store.records import SavedSearch, User

MAX_NAME = 100
MAX_PARAM_VALUES = 50  # values over all the parameters of one saved search
MAX_VALUE = 2000  # characters of one parameter value
MAX_PER_USER = 200

# What a caller may give as parameters: each one value or several.
ParamsIn = Mapping[str, str | Sequence[str]]
Searches = list[SavedSearch]
Params = dict[str, list[str]]
# Line breaks and tabs are white space in a query; other control characters are refused.
_QUERY_SPACE = frozenset("\t\n\r")


def clean_name(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise field_error("name", f"a name is 1-{MAX_NAME} characters (after trimming "
                                  f"spaces); this is {len(name):,}")
    problem = bad_characters(name)
    if problem:
        raise field_error("name", problem)
    return name


def clean_query(raw: str) -> str:
    query = raw.strip()
    if len(query) > MAX_QUERY:
        raise field_error("query", f"a query is at most {MAX_QUERY:,} characters; this is "
                                   f"{len(query):,}")
    problem = bad_characters(query, _QUERY_SPACE)
    if problem:
        raise field_error("query", problem)
    return query


def clean_params(raw: ParamsIn) -> Params:
    """The parameters as stored: each a list of its non-empty values (trimmed), the
    empty ones left out, by name. Whether they are known filters is for ``combine``."""
    params: Params = {}
    count = 0
    for key, given in raw.items():
        if key in ("query", "cursor"):
            raise field_error(key, "not a filter parameter: give the query as 'query', "
                                   "and a saved search starts at the newest events"
                              if key == "query" else "a saved search starts at the "
                                                     "newest events; leave the cursor out")
        values = [given] if isinstance(given, str) else list(given)
        kept = []
        for value in values:
            if not isinstance(value, str):
                raise field_error(key, "values are text")
            value = value.strip()
            if not value:
                continue
            if len(value) > MAX_VALUE:
                raise field_error(key, f"a value is at most {MAX_VALUE:,} characters")
            problem = bad_characters(value)
            if problem:
                raise field_error(key, problem)
            kept.append(value)
        if kept:
            params[key] = kept
            count += len(kept)
    if count > MAX_PARAM_VALUES:
        raise field_error("params", f"at most {MAX_PARAM_VALUES} values over all the "
                                    f"parameters; these have {count}")
    return dict(sorted(params.items()))


def filter_of(saved: SavedSearch, now: int | None = None) -> EventFilter:
    """The filter a saved search runs (relative times counted back from ``now``)."""
    return combine(saved.query or None, saved.params, now)


def _not_found(search_id: int) -> NotFound:
    return NotFound("you have no saved search of that id",
                    [ErrorDetail("id", str(search_id))])


class SavedSearchService:
    def __init__(self, store: Store, clock: Callable[[], int] = now_us) -> None:
        self.store = store
        self.clock = clock

    def save(self, principal: Principal, name: str, query: str,
             params: ParamsIn | None = None) -> SavedSearch:
        """Keep a search under a name of the caller's (unique for them, whatever its
        case). The query must parse and the parameters must be known filters."""
        user = self._owner(principal)
        clean = self._checked(clean_name(name), clean_query(query), clean_params(params or {}))
        made = self.store.saved_searches.add(
            principal.tenant.id, user.id, clean.name, clean.query, clean.params,
            format_us(self.clock()), MAX_PER_USER)
        if made is None:
            raise ValidationFailed(
                "you have as many saved searches as one may keep",
                [ErrorDetail("saved_searches", f"at most {MAX_PER_USER} per user; delete "
                                               "one you no longer need")])
        return made

    def list(self, principal: Principal) -> Searches:
        """The caller's saved searches, by name."""
        user = self._owner(principal)
        return self.store.saved_searches.for_user(principal.tenant.id, user.id)

    def get(self, principal: Principal, search_id: int) -> SavedSearch:
        user = self._owner(principal)
        found = self.store.saved_searches.get(principal.tenant.id, user.id, search_id)
        if found is None:
            raise _not_found(search_id)
        return found

    def find(self, principal: Principal, name: str) -> SavedSearch:
        """The caller's saved search of this name (in any case)."""
        user = self._owner(principal)
        found = self.store.saved_searches.find(principal.tenant.id, user.id, name.strip())
        if found is None:
            raise NotFound("you have no saved search of that name",
                           [ErrorDetail("name", name.strip()[:MAX_NAME])])
        return found

    def update(self, principal: Principal, search_id: int, name: str | None = None,
               query: str | None = None, params: ParamsIn | None = None) -> SavedSearch:
        """Rename a saved search or change what it searches; what is not given stays.
        ``params`` replaces the parameters whole."""
        existing = self.get(principal, search_id)
        changed = self._checked(
            clean_name(name) if name is not None else existing.name,
            clean_query(query) if query is not None else existing.query,
            clean_params(params) if params is not None else existing.params)
        if (changed.name, changed.query, changed.params) == (
                existing.name, existing.query, existing.params):
            return existing
        updated = replace(existing, name=changed.name, query=changed.query,
                          params=changed.params, updated_at=format_us(self.clock()))
        if not self.store.saved_searches.update(updated):
            raise _not_found(search_id)  # deleted meanwhile
        return updated

    def delete(self, principal: Principal, search_id: int) -> None:
        user = self._owner(principal)
        if not self.store.saved_searches.delete(principal.tenant.id, user.id, search_id):
            raise _not_found(search_id)

    # -- inside --------------------------------------------------------------

    @staticmethod
    def _owner(principal: Principal) -> User:
        """Saved searches are staff users' own: an API key has none."""
        if principal.user is None:
            raise Forbidden("API keys cannot keep saved searches; sign in as a staff user",
                            [ErrorDetail("authorization", "saved searches belong to staff "
                                                          "users")])
        principal.require("events.read")
        return principal.user

    def _checked(self, name: str, query: str, params: Params) -> SavedSearch:
        """The parts of a saved search, once its query parses and its parameters are
        known filters that do not clash with it (the errors of a search, with the
        query's position)."""
        probe = SavedSearch(0, 0, 0, name, query, params, "", "")
        filter_of(probe, self.clock())
        return probe
