"""The binary tsvector that the PostgreSQL store COPYs in is the tsvector PostgreSQL
itself reads from the literal of the same terms: same lexemes, positions and weights,
checked by the server over random terms and at its limits."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailbook.query.terms import EventTerms
from trailbook.query.tsvector import (
    FIELD_BREAK,
    MAX_POSITIONS_PER_WORD,
    tsvector_binary,
    tsvector_text,
)

WORDS = ["rack", "b4", "Reboot", "reboot", "miner", "größe", "ÉTÉ", "été", "x", "abc123",
         "rqae68ce802ab99059"]
KEYS = ["rqae68ce802ab99059", "ct0123456789abcdef", "reboot", "tn00aa11bb22cc33dd"]


@pytest.fixture(scope="module")
def conn(postgres_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TEMP TABLE vectors (n integer, search tsvector)")
        yield connection


def server_reads(conn: psycopg.Connection, terms: EventTerms) -> tuple[str, str]:
    """(the binary form as the server reads it, the literal as the server reads it)."""
    vector = tsvector_binary(terms)
    data = (b"PGCOPY\n\xff\r\n\x00" + bytes(8) + struct.pack("!hiiI", 2, 4, 1, len(vector))
            + vector + b"\xff\xff")
    conn.execute("TRUNCATE vectors")
    with conn.cursor() as cur, cur.copy("COPY vectors (n, search) FROM STDIN (FORMAT BINARY)") \
            as copy:
        copy.write(data)
    row = conn.execute("SELECT search::text, %s::tsvector::text FROM vectors",
                       (tsvector_text(terms),)).fetchone()
    assert row is not None
    return row[0], row[1]


text = st.lists(st.sampled_from([*WORDS, FIELD_BREAK, " ", "-", "😀"]), max_size=40).map(
    " ".join)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=text, actor=text, target=text,
       keys=st.lists(st.sampled_from(KEYS), max_size=6).map(" ".join))
def test_the_binary_form_is_what_the_server_reads_from_the_literal(
    conn: psycopg.Connection, body: str, actor: str, target: str, keys: str
) -> None:
    binary, literal = server_reads(conn, EventTerms(body, actor, target, keys))
    assert binary == literal


def test_positions_at_the_servers_limits(conn: psycopg.Connection) -> None:
    """Past position 16,383 words (and the gaps between fields) share the last one; a
    word keeps at most 255 positions; a key token that is also a word keeps its key
    position."""
    body = " ".join(["reboot miner"] * 9000) + FIELD_BREAK + "tail" + FIELD_BREAK + "end"
    terms = EventTerms(body, "reboot", "", "reboot ct0123456789abcdef")
    binary, literal = server_reads(conn, terms)
    assert binary == literal
    reboot = next(p for p in binary.split(" ") if p.startswith("'reboot'"))
    places = reboot.split(":")[1].split(",")
    assert places[0] == "1" and places[1] == "2A"  # the key (weight D shows bare), the actor
    assert len(places) == MAX_POSITIONS_PER_WORD
    assert "'tail':16383C" in binary and "'end':16383C" in binary
