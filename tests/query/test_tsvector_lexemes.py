"""An actor's lexemes are made once and shared by its events (cached, copied only
where an event adds to them); the lexemes must be those made column by column for
each event afresh, whatever the order of events and however often an actor comes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trailbook.query.terms import EventTerms
from trailbook.query.tsvector import (
    FIELD_BREAK,
    FIELD_BREAK_WORD,
    MAX_POSITION,
    MAX_POSITIONS_PER_WORD,
    lexemes,
    words,
)

WEIGHT_BITS = {"actor": 3 << 14, "target": 2 << 14, "body": 1 << 14}
KEY_POSITION = 1  # position 1, weight D (no bits)


def fresh_lexemes(terms: EventTerms) -> tuple[dict[str, list[int]], list[str]]:
    """The lexemes of ``terms`` made from nothing, one column after another: the
    rules of ``lexemes`` written out plainly."""
    positions: dict[str, list[int]] = {}
    position = 0
    for name in ("actor", "target", "body"):
        column = getattr(terms, name)
        if not column:
            continue
        bits = WEIGHT_BITS[name]
        position = min(position + 1, MAX_POSITION)
        for word in words(column):  # (no word here is long enough to be dropped)
            position = min(position + 1, MAX_POSITION)
            if word == FIELD_BREAK_WORD:
                continue
            places = positions.setdefault(word, [])
            if places and places[-1] & 0x3FFF == position:
                places[-1] = position | max(bits, places[-1] & ~0x3FFF)
            elif len(places) < MAX_POSITIONS_PER_WORD:
                places.append(position | bits)
    keys = []
    for key in dict.fromkeys(terms.keys.split()):
        if key in positions:
            positions[key] = [KEY_POSITION, *positions[key][:MAX_POSITIONS_PER_WORD - 1]]
        else:
            keys.append(key)
    return positions, keys


TEXT = ["Zoë", "zoe", "Ångström", "rack", "B4", "rack b4", "reboot", "überhitzt", "x",
        "usr_b14e", "ct0123456789abcdef", FIELD_BREAK, " ", "-"]
text = st.lists(st.sampled_from(TEXT), max_size=12).map(" ".join)
# A few actors, so that most events come from an actor already seen.
actors = st.sampled_from(["", "zoe", f"usr_1{FIELD_BREAK}Zoë Ångström", "reboot rack",
                          f"svc{FIELD_BREAK}{FIELD_BREAK}rack b4 rack"])
events = st.builds(EventTerms, body=text, actor=actors, target=text,
                   keys=st.lists(st.sampled_from(["ct0123456789abcdef", "zoe", "rack",
                                                  "tn00aa11bb22cc33dd"]),
                                 max_size=4).map(" ".join))


@given(st.lists(events, min_size=1, max_size=8))
def test_lexemes_are_those_made_afresh(batch: list[EventTerms]) -> None:
    for terms in batch:
        positions, keys = lexemes(terms)
        assert ({word: list(places) for word, places in positions.items()}, keys) == (
            fresh_lexemes(terms))


def test_an_event_does_not_change_its_actors_shared_lexemes() -> None:
    actor = "Zoë Ångström"
    first = lexemes(EventTerms("zoe zoe rack", actor, "zoe", "zoe"))[0]
    assert list(first["zoe"]) == [KEY_POSITION, 2 | WEIGHT_BITS["actor"],
                                  5 | WEIGHT_BITS["target"], 7 | WEIGHT_BITS["body"],
                                  8 | WEIGHT_BITS["body"]]
    again = lexemes(EventTerms("", actor, "", ""))[0]
    assert {word: list(places) for word, places in again.items()} == {
        "zoe": [2 | WEIGHT_BITS["actor"]], "angstrom": [3 | WEIGHT_BITS["actor"]]}


def test_words_past_the_last_position_share_it() -> None:
    body = " ".join(["reboot"] * (MAX_POSITION + 10)) + " tail"
    positions, _ = lexemes(EventTerms(body, "zoe", "", ""))
    assert list(positions["tail"]) == [MAX_POSITION | WEIGHT_BITS["body"]]
    assert len(positions["reboot"]) == MAX_POSITIONS_PER_WORD
