"""The search query language, parsed into the one filter model (``EventFilter``).

    actor:alice@example.com action:miner.* result:failure ip:10.0.0.0/8
    after:2026-01-01 "pool change" -scope:test

A query is terms separated by spaces. A term is ``key:value`` (the value quoted when
it holds spaces: ``target.name:"Rack B4"``), a bare word, or a "quoted phrase"; bare
words and phrases are full-text. A term starting with ``-`` is negated. Repeating a
key, or giving a comma list (``result:failure,success``), ORs its values; different
keys AND. Every error names its 1-based position and what was expected there."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from trailbook.errors import ErrorDetail, QuerySyntaxError, ValidationFailed
from trailbook.model.timefmt import now_us
from trailbook.query.filters import EventFilter
from trailbook.query.params import filter_from_params

# query key -> parameter of ``filter_from_params``
KEYS: dict[str, str] = {
    "actor": "actor",
    "actor.id": "actor_id",
    "actor.email": "actor_email",
    "actor.type": "actor_type",
    "action": "action",
    "category": "category",
    "type": "action_type",
    "target": "target",
    "target.id": "target_id",
    "target.name": "target_name",
    "target.type": "target_type",
    "scope": "scope",
    "result": "result",
    "severity": "severity",
    "ip": "ip",
    "request": "request_id",
    "session": "session_id",
    "tag": "tag",
    "after": "since",
    "before": "until",
    "last": "last",
}
TIME_KEYS = ("after", "before", "last")
# Values of these keys are free-form (names, emails, ids): a comma is part of them.
_WHOLE_VALUES = {"actor", "actor.id", "target", "target.id", "target.name", "request",
                 "session"}
_KEY = re.compile(r"[a-z][a-z_.]*(?=:)")
_WORD_CHAR = re.compile(r"\w", re.UNICODE)
MAX_QUERY = 2000


@dataclass(frozen=True)
class Term:
    position: int  # 1-based, of the term (its '-' if negated)
    negated: bool
    key: str | None  # None: full-text
    value: str
    value_position: int
    quoted: bool


def _fail(position: int, expected: str) -> QuerySyntaxError:
    return QuerySyntaxError(
        f"the query does not parse at position {position}: {expected}",
        [ErrorDetail("query", f"position {position}: {expected}")],
        position,
    )


def _quoted(query: str, start: int) -> tuple[str, int]:
    """The text of the quoted string opening at ``start`` and the index after it."""
    end = query.find('"', start + 1)
    if end < 0:
        raise _fail(start + 1, 'expected a closing " for the quote opened here')
    after = end + 1
    if after < len(query) and not query[after].isspace():
        raise _fail(after + 1, "expected a space after the closing quote")
    return query[start + 1:end], after


def tokenize(query: str) -> list[Term]:
    if len(query) > MAX_QUERY:
        raise _fail(MAX_QUERY + 1, f"a query of at most {MAX_QUERY} characters")
    terms: list[Term] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        start = i
        negated = query[i] == "-"
        if negated:
            i += 1
            if i >= n or query[i].isspace():
                raise _fail(start + 1, "expected a term after '-'")
        key_match = _KEY.match(query, i)
        if key_match:
            key = key_match.group(0)
            if key not in KEYS:
                raise _fail(i + 1, f"unknown field {key!r}; expected one of "
                                   f"{', '.join(KEYS)} (quote text that holds a colon)")
            i = key_match.end() + 1
            value_at = i
            if i < n and query[i] == '"':
                value, i = _quoted(query, i)
                quoted = True
            else:
                while i < n and not query[i].isspace():
                    if query[i] == '"':
                        raise _fail(i + 1, "expected a space before a quote")
                    i += 1
                value, quoted = query[value_at:i], False
            if not value.strip():
                raise _fail(value_at + 1, f"expected a value after '{key}:'")
            terms.append(Term(start + 1, negated, key, value, value_at + 1, quoted))
        elif query[i] == '"':
            value, i = _quoted(query, i)
            if not _WORD_CHAR.search(value):
                raise _fail(start + 1, "expected letters or digits inside the quotes")
            terms.append(Term(start + 1, negated, None, value, start + 1, True))
        else:
            while i < n and not query[i].isspace():
                if query[i] == '"':
                    raise _fail(i + 1, "expected a space before a quote")
                i += 1
            word = query[start + negated:i]
            if not _WORD_CHAR.search(word):
                raise _fail(start + 1, "expected a word with letters or digits")
            terms.append(Term(start + 1, negated, None, word, start + 1 + negated, False))
    return terms


def _reason(exc: ValidationFailed) -> str:
    return exc.details[0].reason if exc.details else exc.message


def _check(term: Term, now: int) -> None:
    """Validate one keyed term alone, so that an error points at it."""
    assert term.key is not None
    try:
        filter_from_params({KEYS[term.key]: _values(term)}, now=now)
    except ValidationFailed as exc:
        raise _fail(term.value_position, f"{term.key}: {_reason(exc)}") from None


def _values(term: Term) -> list[str]:
    assert term.key is not None
    if term.key in _WHOLE_VALUES or term.quoted:
        return [term.value]
    return [v for v in term.value.split(",") if v]


def _text(terms: list[Term]) -> str | None:
    parts = [f'"{t.value}"' if t.quoted else t.value for t in terms]
    return " ".join(parts) if parts else None


def _build(terms: list[Term]) -> EventFilter:
    params: dict[str, list[str]] = {}
    for term in terms:
        if term.key is None or term.key in TIME_KEYS:
            continue
        param = KEYS[term.key]
        if param in ("actor", "target"):  # words: several terms AND their words
            params.setdefault(param, []).append(term.value)
        else:
            params.setdefault(param, []).extend(_values(term))
    flt = filter_from_params(dict(params))
    words = [t for t in terms if t.key is None]
    return replace(flt, text=_text(words))


def parse_query(query: str, now: int | None = None) -> EventFilter:
    """Parse ``query`` into an ``EventFilter``. Raises ``QuerySyntaxError`` naming the
    position of the first problem."""
    now = now_us() if now is None else now
    terms = tokenize(query)
    times: dict[str, Term] = {}
    for term in terms:
        if term.key is not None:
            _check(term, now)
        if term.key in TIME_KEYS:
            if term.negated:
                raise _fail(term.position, f"'{term.key}:' cannot be negated; use "
                                           f"{'before' if term.key != 'before' else 'after'}:")
            if term.key in times:
                raise _fail(term.position, f"'{term.key}:' once only")
            times[term.key] = term
    if "last" in times and "after" in times:
        raise _fail(times["last"].position, "either 'last:' or 'after:', not both")
    try:
        window = filter_from_params({KEYS[k]: t.value for k, t in times.items()}, now=now)
    except ValidationFailed:  # the only error left: before: not later than the start
        raise _fail(times["before"].value_position,
                    "before: must be later than the start (after: or last:)") from None
    positive = _build([t for t in terms if not t.negated])
    negative = _build([t for t in terms if t.negated])
    return replace(positive, since_us=window.since_us, until_us=window.until_us,
                   exclude=None if negative.is_empty() else negative)


def combine(query: str | None, params: Mapping[str, str | Sequence[str] | None],
            now: int | None = None) -> EventFilter:
    """The filter of a request that may give a ``query`` and named parameters: both
    apply (AND). A field set both ways is refused rather than guessed at."""
    now = now_us() if now is None else now
    named = filter_from_params(params, now=now)
    if not query or not query.strip():
        return named
    parsed = parse_query(query, now)
    merged: dict[str, object] = {}
    for f in fields(EventFilter):
        mine, theirs = getattr(parsed, f.name), getattr(named, f.name)
        if mine in (None, ()) or theirs in (None, ()):
            merged[f.name] = theirs if mine in (None, ()) else mine
            continue
        if f.name == "text":
            merged[f.name] = f"{mine} {theirs}"
            continue
        raise ValidationFailed(
            "a filter is given twice", [ErrorDetail(
                "query", f"{f.name} is set in the query and as a parameter; use one")])
    return EventFilter(**merged)  # type: ignore[arg-type]
