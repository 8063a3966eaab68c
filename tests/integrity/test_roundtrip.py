"""DESIGN §3: any valid event survives ingest -> read -> canonical form -> hash unchanged.

Random valid events go through the real service on a real SQLite store. What is read
back must already be in canonical form (re-canonicalising it, with our code or with
``rfc8785``, gives the same bytes), must chain onto the previous event's hash, and must
hold what the client sent."""

from __future__ import annotations

import ipaddress
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import minimal_event
from trailbook.integrity.canonical import canonical_json, needs_exact_path
from trailbook.integrity.chain import GENESIS, link
from trailbook.model import limits as L
from trailbook.model.event import EventIn
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings
from trailbook.store.records import Tenant

MAX_SAFE = L.MAX_SAFE_INTEGER

# -- strategies ---------------------------------------------------------------

# Any code point but a surrogate; plus the characters canonical forms trip over.
TRICKY = [
    "\x00", "\x1f", "\t", "\n", "\r", '"', "\\", "/", "\x7f", "\u2028", "\u2029",
    "é", "€", "\ue000", "\ufb33", "\uffff", "\U0001f600", "\U00010000", "\U0010ffff",
]  # fmt: skip
chars = st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(TRICKY))


def text(min_size: int = 0, max_size: int = 24) -> st.SearchStrategy[str]:
    return st.text(alphabet=chars, min_size=min_size, max_size=max_size)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
actions = st.one_of(
    st.sampled_from(["miner.reboot", "client.bill.update", "cluster.scale", "user.login"]),
    st.lists(segment, min_size=1, max_size=5).map(".".join),
)
email_part = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc"), exclude_characters="@"
    ),
    min_size=1,
    max_size=16,
).filter(lambda s: not any(c.isspace() for c in s))
emails = st.builds(lambda a, b: f"{a}@{b}", email_part, email_part)

meta_keys = st.one_of(
    text(max_size=10),
    st.sampled_from(["é", "\ue000", "\uffff", "\U0001f600", "\U0001f600x", "\ue000x", "a", "B"]),
    text(max_size=L.MAX_METADATA_KEY).filter(lambda k: len(k) <= L.MAX_METADATA_KEY),
)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [-0.0, 0.0, 1.0, 0.5, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 333333333.33333329]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_SAFE, MAX_SAFE),
    st.sampled_from([MAX_SAFE, -MAX_SAFE, 0]),
    floats,
    text(),
)


def nested(levels: int) -> st.SearchStrategy[Any]:
    """Free JSON at most ``levels`` containers deep (the limit is 8)."""
    if levels == 0:
        return scalars
    inner = nested(levels - 1)
    return st.one_of(
        scalars,
        st.lists(inner, max_size=3),
        st.dictionaries(meta_keys, inner, max_size=3),
    )


# metadata sits at depth 0, so its values may hold up to 7 more containers; keep it
# shallower than the limit but deeper than most strategies go.
metadata = st.dictionaries(meta_keys, nested(3), max_size=5)
changes = st.lists(
    st.fixed_dictionaries(
        {"field": text(min_size=1, max_size=30)},
        optional={"old": nested(2), "new": nested(2)},
    ),
    max_size=3,
)

OFFSETS = [
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
]


@st.composite
def occurred_at(draw: st.DrawFn) -> str:
    moment = draw(
        st.datetimes(
            min_value=datetime(1990, 1, 1),
            max_value=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=14),
            timezones=st.sampled_from(OFFSETS),
        )
    )
    rendered = moment.isoformat()
    if rendered.endswith("+00:00") and draw(st.booleans()):
        rendered = rendered[: -len("+00:00")] + "Z"
    return rendered


@st.composite
def sources(draw: st.DrawFn) -> dict[str, Any]:
    source: dict[str, Any] = {}
    if draw(st.booleans()):
        ip = draw(st.ip_addresses())
        # Clients may send IPv6 in full; the server keeps the compressed form.
        source["ip"] = ip.exploded if draw(st.booleans()) else str(ip)
    if draw(st.booleans()):
        source["user_agent"] = draw(text(max_size=60))
    if draw(st.booleans()):
        source["country"] = draw(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyzDEUSFR", min_size=2, max_size=2)
        )
    return source


@st.composite
def event_inputs(draw: st.DrawFn) -> dict[str, Any]:
    actor: dict[str, Any] = {"id": draw(text(min_size=1, max_size=40))}
    if draw(st.booleans()):
        actor["name"] = draw(text(max_size=40))
    if draw(st.booleans()):
        actor["email"] = draw(emails)
    if draw(st.booleans()):
        actor["type"] = draw(st.sampled_from(L.ACTOR_TYPES))
    event: dict[str, Any] = {"action": draw(actions), "actor": actor}
    optional_fields: dict[str, st.SearchStrategy[Any]] = {
        "occurred_at": occurred_at(),
        "category": st.sampled_from(L.DEFAULT_CATEGORIES),
        "action_type": st.sampled_from(L.ACTION_TYPES),
        "severity": st.sampled_from(L.SEVERITIES),
        "targets": st.lists(
            st.fixed_dictionaries(
                {"id": text(min_size=1, max_size=30), "type": text(min_size=1, max_size=20)},
                optional={"name": text(max_size=30)},
            ),
            max_size=3,
        ),
        "scope": text(max_size=40),
        "source": sources(),
        "request_id": text(max_size=40),
        "session_id": text(max_size=40),
        "description": text(max_size=120),
        "changes": changes,
    }
    for name, strategy in optional_fields.items():
        if draw(st.booleans()):
            event[name] = draw(strategy)
    if draw(st.integers(0, 3)):  # metadata is where the hard cases live: mostly present
        event["metadata"] = draw(metadata)
    if draw(st.booleans()):
        event["result"] = "failure"
        if draw(st.booleans()):
            event["reason"] = draw(text(max_size=80))
    elif draw(st.booleans()):
        event["result"] = "success"
    return event


# -- helpers -----------------------------------------------------------------


def ijson_loads(doc: bytes) -> Any:
    """Read JSON the way an I-JSON / JavaScript reader does: every number is a double,
    kept as a Python int when it is a safe integer."""

    def number(text: str) -> int | float:
        value = float(text)
        if value.is_integer() and abs(value) <= MAX_SAFE:
            return int(value)
        return value

    return json.loads(doc, parse_int=number, parse_float=number)


def assert_normalised_ip(stored: str, sent: str) -> None:
    """The stored address is the sent one, written compressed in lower case (RFC 5952);
    an IPv6 address whose top 96 bits are zero or ::ffff may end in dotted IPv4
    (RFC 5952 section 5), e.g. ``::ffff:1.2.3.4``."""
    address = ipaddress.ip_address(sent)
    assert ipaddress.ip_address(stored) == address
    if address.version == 6 and "." in stored:
        head, _, dotted = stored.rpartition(":")
        assert address.ipv4_mapped is not None or int(address) >> 32 == 0
        assert ipaddress.IPv4Address(dotted) == ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        assert head in ("::ffff", ":")
    else:
        assert stored == str(address)


def recanonicalise(doc: bytes) -> bytes:
    """canonical_json of the document as a Python client reads it from the API."""
    return canonical_json(orjson.loads(doc))


def expected_occurred_at(text: str) -> str:
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def same_json(a: Any, b: Any) -> bool:
    """Equal as I-JSON values: every number a double (so 1.0 and 1, -0.0 and 0 are the
    same number, and so are 5.018191849115525e16 and 50181918491155250, the digits JCS
    prints for that double)."""
    a, b = ijson_loads(orjson.dumps(a)), ijson_loads(orjson.dumps(b))
    return bool(a == b and canonical_json(a) == canonical_json(b))


# -- fixture -----------------------------------------------------------------


@pytest.fixture
def trailbook(tmp_path: Path) -> Iterator[tuple[Trailbook, Tenant]]:
    # Checkpoint often, so verify() also checks signed checkpoints along the way.
    tb = Trailbook.open(load_settings(data_dir=tmp_path, checkpoint_every_events=25))
    try:
        tenant, _ = tb.tenants.get_or_create("acme")
        yield tb, tenant
    finally:
        tb.close()


# -- the round trip ------------------------------------------------------------------


def test_roundtrip_of_random_valid_events(trailbook: tuple[Trailbook, Tenant]) -> None:
    tb, tenant = trailbook
    keys = itertools.count()
    runs: list[int] = []

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(raw=event_inputs(), with_key=st.booleans())
    def check(raw: dict[str, Any], with_key: bool) -> None:
        if with_key:  # a fresh key each time: exercises the idempotency digest path
            raw = {**raw, "idempotency_key": f"k-{next(keys)}"}
        head = tb.store.chain_head(tenant.id)
        previous_seq, previous_hash = (head.seq, bytes(head.hash)) if head else (0, GENESIS)

        runs.append(1)
        event = msgspec.convert(raw, EventIn)
        [appended] = tb.events.ingest(tenant, [event], batch=False)
        assert not appended.duplicate
        assert appended.seq == previous_seq + 1

        stored = tb.events.get(tenant, appended.id)
        doc = bytes(stored.doc)
        assert stored.seq == appended.seq
        assert bytes(stored.hash) == appended.hash

        # The stored bytes are the canonical form of what the API returns ...
        returned = orjson.loads(doc)
        assert recanonicalise(doc) == doc
        # ... by RFC 8785's reference implementation too, read as any I-JSON reader
        # would read it (see test_big_whole_floats_read_back_as_big_ints).
        as_doubles = ijson_loads(doc)
        assert rfc8785.dumps(as_doubles) == doc
        assert canonical_json(as_doubles, exact=True) == doc
        # ... and the hash chains onto the previous event's.
        assert link(previous_hash, doc) == bytes(stored.hash)

        assert "hash" not in returned
        assert returned["seq"] == appended.seq
        assert returned["id"] == appended.id
        assert returned["tenant"] == tenant.name

        # What the client sent comes back.
        assert returned["action"] == raw["action"]
        sent_actor = raw["actor"]
        assert returned["actor"] == {
            "id": sent_actor["id"],
            "name": sent_actor.get("name"),
            "email": sent_actor.get("email"),
            "type": sent_actor.get("type", "user"),
        }
        assert returned["targets"] == [
            {"id": t["id"], "name": t.get("name"), "type": t["type"]}
            for t in raw.get("targets", [])
        ]
        assert same_json(returned["metadata"], raw.get("metadata", {}))
        assert same_json(
            returned["changes"],
            [
                {"field": c["field"], "old": c.get("old"), "new": c.get("new")}
                for c in raw.get("changes", [])
            ],
        )
        assert returned["category"] == raw.get("category", "general")
        assert returned["severity"] == raw.get("severity", "info")
        assert returned["result"] == raw.get("result", "success")
        assert returned["reason"] == raw.get("reason")
        if "action_type" in raw:
            assert returned["action_type"] == raw["action_type"]
        for name in ("scope", "request_id", "session_id", "description", "idempotency_key"):
            assert returned[name] == raw.get(name)
        if "occurred_at" in raw:
            assert returned["occurred_at"] == expected_occurred_at(raw["occurred_at"])
        else:
            assert returned["occurred_at"] == returned["received_at"]
        if "source" in raw:
            sent = raw["source"]
            assert returned["source"] == {
                "ip": returned["source"]["ip"],  # checked below
                "user_agent": sent.get("user_agent"),
                "country": None if sent.get("country") is None else sent["country"].upper(),
            }
            if sent.get("ip") is None:
                assert returned["source"]["ip"] is None
            else:
                assert_normalised_ip(returned["source"]["ip"], sent["ip"])
        else:
            assert returned["source"] is None

    check()

    # The whole chain, read back from the store, links from genesis.
    previous = GENESIS
    rows = list(tb.store.iter_chain(tenant.id))
    assert len(rows) == len(runs) >= 100  # every example stored one event
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        assert link(previous, bytes(row.doc)) == bytes(row.hash)
        assert recanonicalise(bytes(row.doc)) == bytes(row.doc)
        previous = bytes(row.hash)

    report = tb.integrity.verify(tenant)
    assert report.ok, report.as_dict()
    assert report.events_checked == len(rows)
    assert report.checkpoints_checked >= 1


@pytest.mark.parametrize(
    "metadata",
    [
        {"\ue000": 1, "\U0001f600": 2, "a": {"\uffff": [1.0, -0.0, 1e21, 5e-324]}},
        {"text": '\u2028\u2029\x7f\x00\x1f"\\/\U0001f600', "n": MAX_SAFE, "m": -MAX_SAFE},
        {"ünïcode": {"\U00010000": None, "\ue000": True}, "f": 1.7976931348623157e308},
        {"deep": [[[[[[{"x": 0.1}]]]]]]},  # 7 containers below metadata: the limit
    ],
    ids=["key-order", "escapes", "unicode-floats", "deepest"],
)
def test_roundtrip_known_hard_events(
    trailbook: tuple[Trailbook, Tenant], metadata: dict[str, Any]
) -> None:
    tb, tenant = trailbook
    raw = {
        "action": "miner.reboot",
        "actor": {"id": "u-1", "email": "zoë@example.com"},
        "source": {"ip": "2001:0db8:0000:0000:0000:0000:0000:0001", "country": "de"},
        "changes": [{"field": "pool", "old": {"\U0001f600": 1.5}, "new": None}],
        "metadata": metadata,
    }
    [appended] = tb.events.ingest(tenant, [msgspec.convert(raw, EventIn)], batch=False)
    stored = tb.events.get(tenant, appended.id)
    doc = bytes(stored.doc)
    returned = orjson.loads(doc)
    assert canonical_json(returned) == doc == rfc8785.dumps(returned)
    assert link(GENESIS, doc) == bytes(stored.hash)
    assert same_json(returned["metadata"], metadata)
    assert returned["source"]["ip"] == "2001:db8::1"
    assert returned["source"]["country"] == "DE"
    assert tb.integrity.verify(tenant).ok


def test_big_whole_floats_read_back_as_big_ints(trailbook: tuple[Trailbook, Tenant]) -> None:
    """A whole float beyond 2**53 (1e17) is accepted (it is a double) and stored as JCS
    prints it: ``100000000000000000``. A Python reader then sees an int beyond the
    I-JSON range. Trailbook's own canonical_json sends such ints down the exact path and
    prints them as the doubles they came from, reproducing the bytes; the ``rfc8785``
    package refuses such ints, so a verifier using it must read numbers as doubles, as
    JavaScript does."""
    tb, tenant = trailbook
    raw = {"action": "a.b", "actor": {"id": "u"}, "metadata": {"big": 1e17, "x": 2.0**53}}
    [appended] = tb.events.ingest(tenant, [msgspec.convert(raw, EventIn)], batch=False)
    doc = bytes(tb.events.get(tenant, appended.id).doc)
    assert b'"metadata":{"big":100000000000000000,"x":9007199254740992}' in doc
    returned = orjson.loads(doc)
    assert needs_exact_path(returned)  # ints beyond 2**53 take the exact path
    assert returned["metadata"]["big"] == 10**17  # an int to a Python reader
    assert canonical_json(returned) == doc
    assert rfc8785.dumps(ijson_loads(doc)) == doc
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps(returned)


@pytest.mark.parametrize(
    ("metadata", "stored"),
    [
        ({"é": 2.0**53}, '{"é":9007199254740992}'),
        ({"é": 1e17, "a": "x"}, '{"a":"x","é":100000000000000000}'),
        ({"big": 1e17, "f": 0.5}, '{"big":100000000000000000,"f":0.5}'),
        (
            {"big": [-(2.0**60)], "\U0001f600": 1.5},
            '{"big":[-1152921504606847000],"\U0001f600":1.5}',
        ),
        ({"big": 5.018191849115525e16, "f": 1.25}, '{"big":50181918491155250,"f":1.25}'),
    ],
    ids=["non-ascii-key", "non-ascii-key-2", "float-beside", "both", "shortest-digits"],
)
def test_recanonicalise_big_whole_floats_on_the_exact_path(
    trailbook: tuple[Trailbook, Tenant], metadata: dict[str, Any], stored: str
) -> None:
    """Regression: a whole float >= 2**53 is stored as digits and reads back as an int
    beyond the I-JSON range. Where the document also needs the exact path (another float
    or a non-ASCII key), canonical_json used to hand that int to ``rfc8785``, which
    refuses it, so the API's own answer could not be re-canonicalised
    (CanonicalFormError: 9007199254740992 exceeds safe integer domain)."""
    tb, tenant = trailbook
    raw = {"action": "a.b", "actor": {"id": "u"}, "metadata": metadata}
    [appended] = tb.events.ingest(tenant, [msgspec.convert(raw, EventIn)], batch=False)
    doc = bytes(tb.events.get(tenant, appended.id).doc)
    assert f'"metadata":{stored}'.encode() in doc
    returned = orjson.loads(doc)  # what a Python client reads back from the API
    assert needs_exact_path(returned)
    assert canonical_json(returned) == doc
    assert canonical_json(returned, exact=True) == doc
    assert rfc8785.dumps(ijson_loads(doc)) == doc


@pytest.mark.parametrize(
    "metadata",
    [{"x": 1e20}, {"x": 1e20, "f": 0.5}, {"x": [-1.8446744073709552e19]}],
    ids=["fast-path", "float-path", "negative"],
)
def test_recanonicalise_after_stdlib_json_read(
    trailbook: tuple[Trailbook, Tenant], metadata: dict[str, Any]
) -> None:
    tb, tenant = trailbook
    raw = {"action": "a.b", "actor": {"id": "u"}, "metadata": metadata}
    [appended] = tb.events.ingest(tenant, [msgspec.convert(raw, EventIn)], batch=False)
    doc = bytes(tb.events.get(tenant, appended.id).doc)
    assert rfc8785.dumps(ijson_loads(doc)) == doc  # the stored bytes are right
    returned = json.loads(doc)  # a Python client using the standard library
    assert canonical_json(returned) == doc


def test_metadata_that_looks_like_the_seq_field_does_not_move_it(
    tb: Trailbook, tenant: Tenant
) -> None:
    """The store puts seq into the canonical form at the top-level "seq" key, even
    when metadata holds the same bytes."""
    event = minimal_event(metadata={"seq": 0, "session_id": None, "note": '"seq":0,'})
    [appended] = tb.events.ingest(tenant, msgspec.convert([event], list[EventIn]))
    doc = bytes(tb.events.get(tenant, appended.id).doc)
    parsed = orjson.loads(doc)
    assert parsed["seq"] == appended.seq == 1
    assert parsed["metadata"] == {"seq": 0, "session_id": None, "note": '"seq":0,'}
    assert recanonicalise(doc) == doc
