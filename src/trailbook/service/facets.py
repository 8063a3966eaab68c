"""What a filter matches, summed up: the total (exact when cheap, an estimate marked as
such otherwise), counts by field (facets), and a time histogram with a bucket size
chosen for the range. Every part has its own time budget; a part that runs out says
so (``timed_out``) instead of failing the others."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from trailbook.errors import ErrorDetail, ValidationFailed
from trailbook.model.timefmt import now_us
from trailbook.query.filters import EventFilter
from trailbook.store.base import Store
from trailbook.store.records import FACET_FIELDS, FacetValue, Tenant

SECOND = 1_000_000
# Bucket sizes a histogram chooses from: the smallest giving at most MAX_BUCKETS.
BUCKETS = tuple(s * SECOND for s in (
    1, 5, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400,
    7 * 86_400, 30 * 86_400, 365 * 86_400))
MAX_BUCKETS = 60
EXACT_UP_TO = 10_000  # counted exactly up to here; past it, estimated
SAMPLE = 10_000  # facets are counted over at most this many of the newest matches


@dataclass(frozen=True)
class Total:
    count: int | None  # None: the budget ran out before any answer
    exact: bool
    timed_out: bool = False


@dataclass(frozen=True)
class Facet:
    field: str
    values: list[FacetValue]
    timed_out: bool
    # Counted over the newest ``SAMPLE`` matches only (there were more).
    sampled: bool = False


class _Actor(msgspec.Struct):
    id: str


class _Target(msgspec.Struct):
    type: str


class _Source(msgspec.Struct):
    ip: str | None = None


class _FacetFields(msgspec.Struct):
    """The fields facets count, read from a stored document (the rest is skipped)."""

    category: str
    action: str
    actor: _Actor
    result: str
    severity: str
    targets: list[_Target] = []
    source: _Source | None = None


_read_fields = msgspec.json.Decoder(_FacetFields)


def _values_of(doc: _FacetFields, field: str) -> Iterable[str | None]:
    if field == "actor":
        return (doc.actor.id,)
    if field == "ip":
        return (doc.source.ip if doc.source else None,)
    if field == "target_type":
        return {t.type for t in doc.targets}  # an event counts once per type
    value: str = getattr(doc, field)
    return (value,)


@dataclass(frozen=True)
class Histogram:
    bucket_us: int
    from_us: int
    to_us: int
    buckets: list[tuple[int, int]]  # (start, count), every bucket of the range
    timed_out: bool


def _top(counter: Counter[str | None], top: int) -> list[tuple[str | None, int]]:
    """Most frequent first; ties by value, events without the field last."""
    ordered = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return ordered[:top]


_PERSONAL = ("actor", "ip")


def choose_bucket(span_us: int) -> int:
    for size in BUCKETS:
        if span_us <= size * MAX_BUCKETS:
            return size
    return BUCKETS[-1]


class FacetService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def total(self, tenant: Tenant, flt: EventFilter, timeout_ms: int,
              exact_up_to: int = EXACT_UP_TO) -> Total:
        counted = self.store.count_matches(tenant.id, flt, exact_up_to, timeout_ms)
        if counted is None:
            return Total(None, False, timed_out=True)
        if not counted.capped or counted.oldest_pos is None:
            return Total(counted.count, True)
        # Past the cap: assume the matches go on at the density of the newest ones,
        # over the rest of the filter's time range (or of the tenant's events).
        span = self.store.time_span(tenant.id)
        if span is None:
            return Total(counted.count, False)
        low = max(flt.since_us if flt.since_us is not None else span[0], span[0])
        high = min(flt.until_us if flt.until_us is not None else span[1] + 1, span[1] + 1)
        covered = max(high - (counted.oldest_pos >> 10), 1)
        estimate = counted.count * max(high - low, covered) // covered
        return Total(max(estimate, counted.count), False)

    def facets(self, tenant: Tenant, flt: EventFilter, fields: tuple[str, ...],
               top: int, timeout_ms: int, sample: int = SAMPLE,
               mask: Callable[[str], str] | None = None) -> list[Facet]:
        """Counts by each of ``fields``, in one pass over the newest ``sample``
        matches: exact when there are no more, marked ``sampled`` when there are.
        ``mask`` hides personal data in the actor and ip values before counting."""
        unknown = [f for f in fields if f not in FACET_FIELDS]
        if unknown:
            raise ValidationFailed("unknown facet", [ErrorDetail(
                "fields", f"{unknown[0]!r}; facets: {', '.join(FACET_FIELDS)}")])
        chosen = tuple(dict.fromkeys(fields))
        docs = self.store.newest_docs(tenant.id, flt, sample, timeout_ms)
        if docs is None:
            return [Facet(field, [], True) for field in chosen]
        counters: dict[str, Counter[str | None]] = {f: Counter() for f in chosen}
        for raw in docs:
            doc = _read_fields.decode(raw)
            for field, counter in counters.items():
                values = _values_of(doc, field)
                if mask is not None and field in _PERSONAL:
                    values = (None if v is None else mask(v) for v in values)
                counter.update(values)
        sampled = len(docs) >= sample
        return [Facet(field, [FacetValue(v, n) for v, n in _top(counters[field], top)],
                      False, sampled)
                for field in chosen]

    def histogram(self, tenant: Tenant, flt: EventFilter, timeout_ms: int,
                  now: int | None = None) -> Histogram | None:
        """None when the tenant has no events and the filter gives no range."""
        now = now_us() if now is None else now
        span = self.store.time_span(tenant.id)
        if flt.since_us is not None:
            low = flt.since_us
        elif span is not None:
            low = span[0]
        else:
            return None
        if flt.until_us is not None:
            high = flt.until_us
        elif flt.since_us is not None:
            high = max(now, span[1] + 1 if span else now)
        else:
            high = span[1] + 1 if span else now
        high = max(high, low + 1)
        bucket = choose_bucket(high - low)
        origin = low - low % bucket
        counted = self.store.histogram_counts(tenant.id, flt, origin, bucket, timeout_ms)
        found = dict(counted or [])
        starts = range(origin, high, bucket)
        return Histogram(bucket, low, high, [(s, found.get(s, 0)) for s in starts],
                         counted is None)
