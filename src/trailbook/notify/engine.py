"""The rule engine: stored events in, alert and summary firings out.

An engine holds the rules of one tenant (or several: states are keyed by rule id) and
the state of each rule and group (``RuleState``). ``observe`` runs one event through
every enabled rule; ``tick`` ends quiet periods; ``take_changes`` hands over the states
to persist. An engine built from the persisted states behaves as the one that wrote
them, with one exception: the documents (and ids) of a partial window live only in
memory, so an alert whose window began before a restart carries fewer of them (its
count and time range are exact).

Matching is cheap for the events a rule cannot match: each rule's filter is compiled
once, and the rules an event's (category, action) can reach at all are looked up in a
cache, so most events cost a dict lookup; the few left are screened on plain fields
(result, severity, types), and only a rule whose query holds more than those fields
goes on to ``evaluate.matches`` (the reference meaning of a filter). ``stats`` counts
each step."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from trailbook.errors import ErrorDetail, QuerySyntaxError, TrailbookError, ValidationFailed
from trailbook.model.timefmt import parse_rfc3339
from trailbook.notify.grouping import GROUP_FIELDS, KeyFunction, group_by_problem, key_function
from trailbook.notify.records import Rule, RuleState
from trailbook.query.evaluate import matches
from trailbook.query.filters import EventFilter
from trailbook.query.language import TIME_KEYS, parse_query, tokenize

__all__ = ["GROUP_FIELDS", "EngineStats", "Firing", "RuleEngine", "check_rule"]

MAX_THRESHOLD = 10_000
MAX_SECONDS = 7 * 24 * 3600
MAX_SUPPRESSED_IDS = 100
MAX_WINDOW_IDS = 100  # ids an alert carries
MAX_ALERT_DOCS = 10  # documents an alert carries
# The notifier's own events (alert.delivered, alert.failed, alert.dead) never match.
OWN_ACTION_PREFIX = "alert."
# A partial window nobody added to is forgotten this long (server clock) after it could
# last have grown; ``tick`` sweeps such states at most once per SWEEP_US.
STALE_GRACE_US = 3600 * 1_000_000
SWEEP_US = 60 * 1_000_000
_INDEX_LIMIT = 4096  # (category, action) pairs remembered

StateKey = tuple[int, str]


@dataclass(frozen=True, slots=True)
class Firing:
    """An alert (``threshold`` matches of a group within the window) or the summary
    of a quiet period's suppressed matches."""

    rule: Rule
    group_key: str
    kind: Literal["alert", "summary"]
    docs: tuple[dict[str, Any], ...]  # alert: the newest events of the window (<= 10)
    count: int  # alert: events in the window; summary: matches suppressed
    event_ids: tuple[str, ...]  # alert: the window's ids; summary: the first suppressed
    first_us: int  # occurred_at range the firing stands for
    last_us: int


@dataclass(slots=True)
class EngineStats:
    """How much work the engine did: counters, cheap to keep."""

    events: int = 0  # events observed
    candidates: int = 0  # rules an event reached past the (category, action) lookup
    evaluated: int = 0  # full evaluations (evaluate.matches): rules the plain checks
    #                     of category, action, result, severity, types cannot decide
    matched: int = 0  # (event, rule) matches
    suppressed: int = 0  # matches counted in a quiet period
    alerts: int = 0
    summaries: int = 0


# ---------------------------------------------------------------- validation


def _rule_query(query: str) -> EventFilter:
    """The filter of a rule's query; raises ``QuerySyntaxError``."""
    if not query.strip():
        raise QuerySyntaxError("a rule needs a query", [ErrorDetail(
            "query", "a rule needs a query, e.g. action:user.login result:failure")], 1)
    for term in tokenize(query):
        if term.key in TIME_KEYS:
            reason = (f"position {term.position}: a rule's query cannot bound time "
                      f"('{term.key}:'); the rule's window_seconds does")
            raise QuerySyntaxError(f"the query does not parse at {reason}",
                                   [ErrorDetail("query", reason)], term.position)
    flt = parse_query(query)
    if flt.since_us is not None or flt.until_us is not None:  # belt and braces
        raise QuerySyntaxError("a rule's query cannot bound time", [ErrorDetail(
            "query", "a rule's query cannot bound time")], 1)
    return flt


def _count_problem(value: object, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    if not low <= value <= high:
        return f"must be between {low} and {high}"
    return None


def check_rule(query: str, threshold: int, window_seconds: int, group_by: str | None,
               quiet_seconds: int) -> EventFilter:
    """Validate a rule's settings and return the filter of its query. Raises
    ``ValidationFailed`` with one detail per bad field (``query`` keeps the parser's
    position message)."""
    problems: list[ErrorDetail] = []
    flt: EventFilter | None = None
    try:
        flt = _rule_query(query)
    except QuerySyntaxError as exc:
        problems.append(exc.details[0] if exc.details else ErrorDetail("query", exc.message))
    threshold_problem = _count_problem(threshold, 1, MAX_THRESHOLD)
    if threshold_problem:
        problems.append(ErrorDetail("threshold", threshold_problem))
    window_problem = _count_problem(window_seconds, 0, MAX_SECONDS)
    if window_problem is None and window_seconds == 0 and threshold_problem is None \
            and threshold > 1:
        window_problem = "must be above 0 when the threshold is above 1"
    if window_problem:
        problems.append(ErrorDetail("window_seconds", window_problem))
    quiet_problem = _count_problem(quiet_seconds, 0, MAX_SECONDS)
    if quiet_problem:
        problems.append(ErrorDetail("quiet_seconds", quiet_problem))
    if group_by is not None:
        group_problem = (group_by_problem(group_by) if isinstance(group_by, str)
                         else "must be text or null")
        if group_problem:
            problems.append(ErrorDetail("group_by", group_problem))
    if problems:
        raise ValidationFailed("the rule is not valid", problems)
    assert flt is not None
    return flt


# ---------------------------------------------------------------- compiled rules


# The fields of a filter the compiled rule checks itself (the same way as evaluate).
_SCREENED = frozenset({"categories", "actions", "action_prefixes", "results", "severities",
                       "action_types", "actor_types"})


def _set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _only(flt: EventFilter, names: Iterable[str]) -> bool:
    """Does ``flt`` set no field outside ``names``?"""
    return all(getattr(flt, f.name) in (None, ()) for f in fields(flt) if f.name not in names)


class _Compiled:
    """One enabled rule, ready to test events against."""

    __slots__ = ("action_types", "actions", "actor_types", "categories", "exact", "flt",
                 "key", "no_actions", "no_categories", "no_prefixes", "prefixes", "quiet_us",
                 "results", "rule", "severities", "threshold", "window_us")

    def __init__(self, rule: Rule, flt: EventFilter) -> None:
        self.rule = rule
        self.flt = flt
        self.key: KeyFunction = key_function(rule.group_by)
        self.threshold = rule.threshold
        self.window_us = rule.window_seconds * 1_000_000
        self.quiet_us = rule.quiet_seconds * 1_000_000
        self.categories = _set(flt.categories)
        self.actions = _set(flt.actions)
        self.prefixes = tuple(p + "." for p in flt.action_prefixes)
        self.results = _set(flt.results)
        self.severities = _set(flt.severities)
        self.action_types = _set(flt.action_types)
        self.actor_types = _set(flt.actor_types)
        exclude = flt.excluded() or EventFilter()
        self.no_categories = _set(exclude.categories)
        self.no_actions = _set(exclude.actions)
        self.no_prefixes = tuple(p + "." for p in exclude.action_prefixes)
        # Nothing but the fields checked here: the full evaluation would only repeat them.
        self.exact = (_only(flt, _SCREENED | {"exclude"})
                      and _only(exclude, {"categories", "actions", "action_prefixes"}))

    def reaches(self, category: str, action: str) -> bool:
        """Can an event of this category and action match at all?"""
        if self.categories and category not in self.categories:
            return False
        if (self.actions or self.prefixes) and not (
                action in self.actions or action.startswith(self.prefixes)):
            return False
        return not (category in self.no_categories or action in self.no_actions
                    or action.startswith(self.no_prefixes))

    def screens(self, doc: dict[str, Any]) -> bool:
        """The plain fields' checks, before the full evaluation."""
        return not (
            (self.results and doc["result"] not in self.results)
            or (self.severities and doc["severity"] not in self.severities)
            or (self.action_types and doc["action_type"] not in self.action_types)
            or (self.actor_types and doc["actor"]["type"] not in self.actor_types))


def _copy(state: RuleState) -> RuleState:
    return replace(state, window=list(state.window), suppressed_ids=list(state.suppressed_ids))


def _empty(state: RuleState) -> bool:
    return not state.window and not state.quiet_until_us


def _ids(entries: list[tuple[int, str, dict[str, Any]]]) -> tuple[str, ...]:
    return tuple(entry[1] for entry in entries)


def _occurred(entry: tuple[int, str, dict[str, Any]]) -> int:
    return entry[0]


# ---------------------------------------------------------------- the engine


class RuleEngine:
    """Rules and their states; see the module's doc. Not thread-safe."""

    def __init__(self, rules: Sequence[Rule], states: Iterable[RuleState]) -> None:
        self.stats = EngineStats()
        self.skipped: dict[int, str] = {}  # rule id -> why a stored rule cannot run
        self._rules: dict[int, _Compiled] = {}
        for rule in rules:
            if not rule.enabled:
                continue
            try:
                flt = check_rule(rule.query, rule.threshold, rule.window_seconds,
                                 rule.group_by, rule.quiet_seconds)
            except TrailbookError as exc:
                self.skipped[rule.id] = exc.one_line()
                continue
            self._rules[rule.id] = _Compiled(rule, flt)
        self._order = tuple(self._rules.values())
        self._index: dict[tuple[str, str], tuple[_Compiled, ...]] = {}
        self._states: dict[StateKey, RuleState] = {}
        self._quiet: list[tuple[int, int, str]] = []  # heap: (until, rule id, group)
        for state in states:
            if state.rule_id in self._rules:
                key = (state.rule_id, state.group_key)
                self._states[key] = _copy(state)
                if state.quiet_until_us:
                    self._quiet.append((state.quiet_until_us, *key))
        heapq.heapify(self._quiet)
        self._stored: set[StateKey] = set(self._states)
        self._dirty: set[StateKey] = set()
        self._deleted: set[StateKey] = set()
        # Documents of the partial windows (memory only): (occurred, id, doc), sorted.
        self._docs: dict[StateKey, list[tuple[int, str, dict[str, Any]]]] = {}
        self._next_sweep = 0

    # ---- matching

    def _reachable(self, category: str, action: str) -> tuple[_Compiled, ...]:
        if action.startswith(OWN_ACTION_PREFIX):
            found: tuple[_Compiled, ...] = ()
        else:
            found = tuple(c for c in self._order if c.reaches(category, action))
        if len(self._index) >= _INDEX_LIMIT:
            self._index.clear()
        self._index[(category, action)] = found
        return found

    def observe(self, doc: dict[str, Any], tags: frozenset[str], now_us: int) -> list[Firing]:
        """Run one stored event (its document, with its tags) through the rules, at
        server time ``now_us``; returns the alerts (and summaries of quiet periods that
        ended) it caused."""
        stats = self.stats
        stats.events += 1
        category, action = doc["category"], doc["action"]
        rules = self._index.get((category, action))
        if rules is None:
            rules = self._reachable(category, action)
        if not rules:
            return []
        firings: list[Firing] = []
        for compiled in rules:
            stats.candidates += 1
            if not compiled.screens(doc):
                continue
            if not compiled.exact:
                stats.evaluated += 1
                if not matches(compiled.flt, doc, tags):
                    continue
            stats.matched += 1
            self._count(compiled, doc, now_us, firings)
        return firings

    def _count(self, compiled: _Compiled, doc: dict[str, Any], now_us: int,
               firings: list[Firing]) -> None:
        key = (compiled.rule.id, compiled.key(doc))
        occurred = parse_rfc3339(doc["occurred_at"])
        state = self._states.get(key)
        if state is not None and state.quiet_until_us:
            if now_us < state.quiet_until_us:
                self._suppress(state, doc["id"], occurred)
                self._dirty.add(key)
                return
            self._end_quiet(compiled, state, firings)
        if state is None:
            state = RuleState(compiled.rule.id, key[1])
        window = state.window
        bisect.insort(window, occurred)
        del window[:bisect.bisect_left(window, window[-1] - compiled.window_us)]
        docs = self._docs.setdefault(key, [])
        bisect.insort(docs, (occurred, doc["id"], doc), key=_occurred)
        del docs[:bisect.bisect_left(docs, window[0], key=_occurred)]
        del docs[:-MAX_WINDOW_IDS]
        if len(window) >= compiled.threshold:
            self.stats.alerts += 1
            firings.append(Firing(
                compiled.rule, key[1], "alert",
                tuple(entry[2] for entry in docs[-MAX_ALERT_DOCS:]), len(window),
                _ids(docs), window[0], window[-1]))
            window.clear()
            docs.clear()
            if compiled.quiet_us:
                state.quiet_until_us = now_us + compiled.quiet_us
                heapq.heappush(self._quiet, (state.quiet_until_us, *key))
        self._put(key, state)

    def _suppress(self, state: RuleState, event_id: str, occurred: int) -> None:
        self.stats.suppressed += 1
        if state.suppressed == 0:
            state.first_suppressed_us = state.last_suppressed_us = occurred
        else:
            state.first_suppressed_us = min(state.first_suppressed_us, occurred)
            state.last_suppressed_us = max(state.last_suppressed_us, occurred)
        state.suppressed += 1
        if len(state.suppressed_ids) < MAX_SUPPRESSED_IDS:
            state.suppressed_ids.append(event_id)

    def _end_quiet(self, compiled: _Compiled, state: RuleState,
                   firings: list[Firing]) -> None:
        """Close the state's quiet period, with a summary if it suppressed anything."""
        if state.suppressed:
            self.stats.summaries += 1
            firings.append(Firing(
                compiled.rule, state.group_key, "summary", (), state.suppressed,
                tuple(state.suppressed_ids), state.first_suppressed_us,
                state.last_suppressed_us))
        state.quiet_until_us = state.suppressed = 0
        state.first_suppressed_us = state.last_suppressed_us = 0
        state.suppressed_ids = []

    def _put(self, key: StateKey, state: RuleState) -> None:
        """Record a changed state (deleting it when it holds nothing)."""
        if _empty(state):
            self._states.pop(key, None)
            self._docs.pop(key, None)
            self._dirty.discard(key)
            if key in self._stored:
                self._deleted.add(key)
        else:
            self._states[key] = state
            self._dirty.add(key)
            self._deleted.discard(key)

    # ---- time

    def tick(self, now_us: int) -> list[Firing]:
        """End the quiet periods that are over at server time ``now_us``: one summary
        for each that suppressed matches. Also forgets stale partial windows."""
        firings: list[Firing] = []
        while self._quiet and self._quiet[0][0] <= now_us:
            until, rule_id, group = heapq.heappop(self._quiet)
            key = (rule_id, group)
            state = self._states.get(key)
            if state is None or state.quiet_until_us != until:
                continue  # ended already (by a later match) or restarted
            self._end_quiet(self._rules[rule_id], state, firings)
            self._put(key, state)
        if now_us >= self._next_sweep:
            self._next_sweep = now_us + SWEEP_US
            self._sweep(now_us)
        return firings

    def _sweep(self, now_us: int) -> None:
        for key, state in list(self._states.items()):
            if state.quiet_until_us or not state.window:
                continue
            if state.window[-1] + self._rules[key[0]].window_us + STALE_GRACE_US < now_us:
                state.window.clear()
                self._put(key, state)

    # ---- persistence

    def take_changes(self) -> tuple[list[RuleState], list[tuple[int, str]]]:
        """The states changed (copies, to upsert) and the (rule id, group key) of the
        states to delete, since the last call."""
        changed = [_copy(self._states[key]) for key in sorted(self._dirty)]
        deleted = sorted(self._deleted)
        self._stored |= self._dirty
        self._stored -= self._deleted
        self._dirty.clear()
        self._deleted.clear()
        return changed, deleted

    def states(self) -> list[RuleState]:
        """Copies of every state held (for tests and diagnostics)."""
        return [_copy(self._states[key]) for key in sorted(self._states)]
