"""Retention policies and legal holds, as staff manage them (``retention.manage``).

A policy says how many days the events of one category are kept (``None``: forever);
the category ``*`` (also written ``default``) is the tenant's default for categories
without a policy of their own; with neither, events are kept forever. A legal hold is
a query in the query language whose events no purge removes while the hold is
active; it names why, and releasing it needs a reason too. A hold's query must not
drift: relative time (``last:``) is refused (``after:``/``before:`` are fine), and so
are tags (annotations are not part of the event, and can be added or removed later).

Every change is audited in the tenant's ``admin`` category, with the old and new
values. ``policies_of`` and ``active_holds`` are what the purge run reads; they take
no caller (the run is the server's own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import uuid_utils

from trailbook.errors import (
    Conflict,
    ErrorDetail,
    NotFound,
    QuerySyntaxError,
    ValidationFailed,
    field_error,
)
from trailbook.model.limits import DEFAULT_CATEGORIES, MAX_REASON
from trailbook.model.text_rules import bad_characters
from trailbook.model.timefmt import format_us, now_us
from trailbook.query.filters import EventFilter
from trailbook.query.language import parse_query, tokenize
from trailbook.service.access.audit import RequestContext, SelfAudit, cli_actor
from trailbook.service.access.principal import Principal
from trailbook.service.saved_searches import clean_name, clean_query
from trailbook.store.base import Store
from trailbook.store.records import Tenant
from trailbook.store.retention_rules import DEFAULT_CATEGORY, LegalHold, RetentionPolicy

PERMISSION = "retention.manage"
MIN_DAYS = 1
MAX_DAYS = 36_500  # a hundred years; longer is "forever"
# The word that names the default policy where '*' is awkward (URLs, shells), unless
# the tenant has a category of that name.
DEFAULT_WORD = "default"
MAX_ACTIVE_HOLDS = 200  # each one is checked against every event a purge would remove
_TEXT_SPACE = frozenset("\t\n\r")

__all__ = ["DEFAULT_CATEGORY", "MAX_DAYS", "MIN_DAYS", "PERMISSION", "RetentionRules",
           "effective_keep_days", "hold_view", "policy_view"]


def effective_keep_days(policies: Iterable[RetentionPolicy], category: str) -> int | None:
    """How many days events of ``category`` are kept under ``policies`` (one tenant's):
    the category's own policy, else the default ('*'), else None (forever)."""
    by_category = {p.category: p for p in policies}
    chosen = by_category.get(category) or by_category.get(DEFAULT_CATEGORY)
    return None if chosen is None else chosen.keep_days


def policy_view(policy: RetentionPolicy) -> dict[str, Any]:
    """A policy as the API, the pages and the CLI show it."""
    return {"category": policy.category, "keep_days": policy.keep_days,
            "updated_at": policy.updated_at, "updated_by": policy.updated_by}


def hold_view(hold: LegalHold) -> dict[str, Any]:
    """A legal hold as the API, the pages and the CLI show it."""
    return {"id": hold.id, "name": hold.name, "query": hold.query, "reason": hold.reason,
            "active": hold.active, "created_at": hold.created_at,
            "created_by": hold.created_by, "released_at": hold.released_at,
            "released_by": hold.released_by, "release_reason": hold.release_reason}


def categories_view(tenant: Tenant, policies: list[RetentionPolicy]) -> list[dict[str, Any]]:
    """Each category of the tenant with the days its events are kept and where that
    comes from: its own policy (``own``), the default (``default``) or none
    (``none``: forever)."""
    own = {p.category for p in policies}
    has_default = DEFAULT_CATEGORY in own
    out = []
    for category in (*DEFAULT_CATEGORIES, *tenant.categories):
        source = "own" if category in own else "default" if has_default else "none"
        out.append({"category": category,
                    "keep_days": effective_keep_days(policies, category),
                    "source": source})
    return out


def _who(principal: Principal | None) -> str:
    """Who made a change, as the ``*_by`` columns keep it."""
    if principal is None:
        return str(cli_actor()["name"])
    if principal.user is not None:
        return principal.user.email
    return principal.label


def clean_reason(raw: object, field: str = "reason") -> str:
    """A reason as kept: trimmed, 1-1,000 characters, no control characters (but line
    breaks and tabs)."""
    if not isinstance(raw, str):
        raise field_error(field, "a reason is text")
    reason = raw.strip()
    if not reason:
        raise field_error(field, "say why (a reason is required)")
    if len(reason) > MAX_REASON:
        raise field_error(field, f"a reason is at most {MAX_REASON:,} characters; this is "
                                 f"{len(reason):,}")
    problem = bad_characters(reason, _TEXT_SPACE)
    if problem:
        raise field_error(field, problem)
    return reason


def check_keep_days(keep_days: object) -> int | None:
    """``keep_days`` if it is a whole number of days in range, or None (forever)."""
    if keep_days is None:
        return None
    if isinstance(keep_days, bool) or not isinstance(keep_days, int):
        raise field_error("keep_days", f"a whole number of days ({MIN_DAYS}-{MAX_DAYS:,}), "
                                       "or null for forever")
    if not MIN_DAYS <= keep_days <= MAX_DAYS:
        raise field_error("keep_days", f"between {MIN_DAYS} and {MAX_DAYS:,} days, or null "
                                       f"for forever; got {keep_days:,}")
    return keep_days


def hold_filter(query: str) -> EventFilter:
    """The filter of a hold's query; raises ``QuerySyntaxError`` (field ``query``, with
    the position) for a query that does not parse, is empty, bounds time relatively
    or names tags."""
    if not query.strip():
        raise QuerySyntaxError("a hold needs a query", [ErrorDetail(
            "query", "a hold needs a query, e.g. actor.email:ivan@example.com "
                     "before:2026-07-01 (to keep everything, set the policies to "
                     "forever)")], 1)
    for term in tokenize(query):
        if term.key == "last":
            reason = (f"position {term.position}: a hold cannot use 'last:' (the events "
                      "it holds would drift with the clock); use after: and before:")
        elif term.key == "tag":
            reason = (f"position {term.position}: a hold cannot match tags (they are "
                      "added to events later, and can be removed)")
        else:
            continue
        raise QuerySyntaxError(f"the query cannot hold events: {reason}",
                               [ErrorDetail("query", reason)], term.position)
    flt = parse_query(query)
    excluded = flt.excluded()
    if flt.tags or (excluded is not None and excluded.tags):  # belt and braces
        raise QuerySyntaxError("a hold cannot match tags", [ErrorDetail(
            "query", "a hold cannot match tags")], 1)
    return flt


def _policy_target(category: str) -> dict[str, Any]:
    return {"type": "retention_policy", "id": category,
            "name": "default" if category == DEFAULT_CATEGORY else category}


def _hold_target(hold: LegalHold) -> dict[str, Any]:
    return {"type": "legal_hold", "id": hold.id, "name": hold.name}


def _require(principal: Principal | None) -> None:
    if principal is not None:  # None: the command line on the server
        principal.require(PERMISSION)


class RetentionRules:
    def __init__(self, store: Store, audit: SelfAudit,
                 clock: Callable[[], int] = now_us) -> None:
        self.rules = store.retention_rules
        self.audit = audit
        self.clock = clock

    # -- policies ------------------------------------------------------------

    def category(self, tenant: Tenant, raw: str) -> str:
        """The category a policy is for: '*' (or ``default``) or one the tenant knows."""
        name = raw.strip()
        known = (*DEFAULT_CATEGORIES, *tenant.categories)
        if name == DEFAULT_WORD and name not in known:
            return DEFAULT_CATEGORY
        if name == DEFAULT_CATEGORY or name in known:
            return name
        raise field_error("category", f"{name[:60]!r} is not a category of this tenant; "
                                      f"use '*' (the default) or one of {', '.join(known)}")

    def list_policies(self, principal: Principal | None,
                      tenant: Tenant) -> list[RetentionPolicy]:
        """The tenant's policies: the default first, then by category."""
        _require(principal)
        return self.rules.policies(tenant.id)

    def set_policy(self, principal: Principal | None, tenant: Tenant, category: str,
                   keep_days: int | None, context: RequestContext) -> RetentionPolicy:
        """Keep the events of ``category`` ('*': the default) ``keep_days`` days (None:
        forever). Setting what is set already changes nothing and is not audited."""
        _require(principal)
        chosen = self.category(tenant, category)
        days = check_keep_days(keep_days)
        old = self.rules.policy(tenant.id, chosen)
        if old is not None and old.keep_days == days:
            return old
        made = self.rules.set_policy(tenant.id, chosen, days, format_us(self.clock()),
                                     _who(principal))
        self.audit.admin(tenant, principal, context, "retention.policy.set",
                         "create" if old is None else "update", _policy_target(chosen),
                         [{"field": "keep_days", "old": None if old is None else old.keep_days,
                           "new": days}])
        return made

    def delete_policy(self, principal: Principal | None, tenant: Tenant, category: str,
                      context: RequestContext) -> RetentionPolicy:
        """Remove the category's own policy (its events fall back to the default);
        the default's removal leaves those categories kept forever."""
        _require(principal)
        chosen = self.category(tenant, category)
        old = self.rules.policy(tenant.id, chosen)
        if old is None or not self.rules.delete_policy(tenant.id, chosen):
            raise NotFound("no such policy", [ErrorDetail(
                "category", f"{chosen!r} has no policy of its own")])
        self.audit.admin(tenant, principal, context, "retention.policy.delete", "delete",
                         _policy_target(chosen),
                         [{"field": "keep_days", "old": old.keep_days, "new": None}])
        return old

    # -- legal holds -----------------------------------------------------------

    def list_holds(self, principal: Principal | None, tenant: Tenant,
                   include_released: bool = True) -> list[LegalHold]:
        """The tenant's holds, newest first; released ones too unless told not."""
        _require(principal)
        return self.rules.holds(tenant.id, include_released=include_released)

    def hold(self, principal: Principal | None, tenant: Tenant, hold_id: str) -> LegalHold:
        _require(principal)
        found = self.rules.hold(tenant.id, hold_id.strip())
        if found is None:
            raise NotFound("no such legal hold", [ErrorDetail(
                "hold_id", f"{hold_id[:40]!r}: unknown")])
        return found

    def create_hold(self, principal: Principal | None, tenant: Tenant, name: str,
                    query: str, reason: str, context: RequestContext) -> LegalHold:
        """Hold the events ``query`` matches (those stored and those to come) from
        purges until released."""
        _require(principal)
        problems: list[ErrorDetail] = []
        clean: dict[str, str] = {}
        checks: dict[str, Callable[[], str]] = {
            "name": lambda: clean_name(name),
            "query": lambda: clean_query(query),
            "reason": lambda: clean_reason(reason),
        }
        for field, check in checks.items():
            try:
                clean[field] = check()
            except ValidationFailed as exc:
                problems.extend(exc.details)
        if "query" in clean:
            try:
                hold_filter(clean["query"])
            except QuerySyntaxError as exc:
                if len(problems) == 0:
                    raise
                problems.extend(exc.details)
        if problems:
            raise ValidationFailed("the legal hold is not valid", problems)
        if len(self.rules.holds(tenant.id, include_released=False)) >= MAX_ACTIVE_HOLDS:
            raise ValidationFailed("as many legal holds are active as one may keep", [
                ErrorDetail("holds", f"at most {MAX_ACTIVE_HOLDS} active; release one "
                                     "no longer needed, or widen one")])
        made = self.rules.add_hold(LegalHold(
            uuid_utils.uuid7().hex, tenant.id, clean["name"], clean["query"],
            clean["reason"], format_us(self.clock()), _who(principal)))
        self.audit.admin(tenant, principal, context, "retention.hold.create", "create",
                         _hold_target(made), [
                             {"field": k, "old": None, "new": v} for k, v in (
                                 ("name", made.name), ("query", made.query),
                                 ("reason", made.reason))])
        return made

    def release_hold(self, principal: Principal | None, tenant: Tenant, hold_id: str,
                     reason: str, context: RequestContext) -> LegalHold:
        """Release an active hold: its events may be purged again (as their policy
        says). The hold stays listed, with who released it, when and why."""
        old = self.hold(principal, tenant, hold_id)
        why = clean_reason(reason)
        if not old.active:
            raise _released(old)
        at, by = format_us(self.clock()), _who(principal)
        if not self.rules.release_hold(tenant.id, old.id, at, by, why):
            raise _released(old)  # released meanwhile
        released = LegalHold(old.id, old.tenant_id, old.name, old.query, old.reason,
                             old.created_at, old.created_by, at, by, why)
        self.audit.admin(tenant, principal, context, "retention.hold.release", "update",
                         _hold_target(released), [
                             {"field": "released_at", "old": None, "new": at},
                             {"field": "release_reason", "old": None, "new": why}])
        return released

    # -- for the purge run (the server's own; no caller) -------------------------

    def policies_of(self, tenant: Tenant) -> list[RetentionPolicy]:
        """The tenant's policies (see ``effective_keep_days``)."""
        return self.rules.policies(tenant.id)

    def active_holds(self, tenant: Tenant) -> list[tuple[LegalHold, EventFilter]]:
        """The tenant's active holds, each with the filter of its query. A stored query
        that no longer parses raises ``Conflict``: a purge must stop rather than remove
        what the hold was meant to keep."""
        out = []
        for hold in self.rules.holds(tenant.id, include_released=False):
            try:
                out.append((hold, hold_filter(hold.query)))
            except QuerySyntaxError as exc:
                raise Conflict(f"the legal hold {hold.name!r} ({hold.id}) has a query that "
                               "does not parse; nothing is purged until it is released "
                               "or replaced", [ErrorDetail("hold", exc.one_line())]) from None
        return out


def _released(hold: LegalHold) -> Conflict:
    return Conflict("the legal hold was released already", [ErrorDetail(
        "hold_id", f"released {hold.released_at} by {hold.released_by}")])
