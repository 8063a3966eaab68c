"""The canonical form is RFC 8785 (JCS), byte for byte, on both paths of canonical.py.

``rfc8785`` is the reference: the fast path (orjson, sorted keys) must only be taken
when it gives the same bytes, and ``canonical_json`` must always give RFC 8785's bytes.
The known answers at the end are the examples published in RFC 8785 itself."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from trailbook.integrity.canonical import CanonicalFormError, canonical_json, needs_exact_path

MAX_SAFE = 2**53 - 1

# -- strategies ---------------------------------------------------------------

# Characters whose order differs between UTF-16 code units (JCS) and code points /
# UTF-8 bytes (orjson): U+E000..U+FFFF sort *after* surrogate pairs in UTF-16.
TRICKY_KEY_CHARS = [
    "é",
    "ö",
    "\u0080",
    "€",
    "\ue000",
    "\ufb33",
    "\uffff",
    "\U0001f600",
    "\U00010000",
]
# Characters JCS escapes (or famously does not): controls, quote, backslash, slash,
# DEL, the JavaScript line separators, non-BMP.
TRICKY_TEXT_CHARS = [
    "\x00", "\x01", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", '"', "\\", "/",
    "\x7f", "\u2028", "\u2029", "\ufeff", "\ue000", "\uffff", "é", "€", "\U0001f600",
    "\U0010ffff",
]  # fmt: skip

# Any code point except surrogates (a lone surrogate has no canonical form).
any_char = st.characters(exclude_categories=("Cs",))

json_keys = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6),
    st.text(
        alphabet=st.one_of(st.sampled_from(TRICKY_KEY_CHARS), st.sampled_from("aAz_0 ")),
        max_size=4,
    ),
    st.text(alphabet=any_char, max_size=5),
)
json_strings = st.one_of(
    st.text(alphabet=st.one_of(st.sampled_from(TRICKY_TEXT_CHARS), any_char), max_size=20),
    st.text(max_size=10, alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)),
)
SPECIAL_FLOATS = [
    -0.0, 0.0, 1.0, -1.0, 0.5, 1e21, 1e-7, 1e-6, 1e20, 123e18, 5e-324, -5e-324,
    1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308,
    9007199254740992.0, 9007199254740994.0, 333333333.33333329, 0.1 + 0.2,
    4.35, 1e23, 9.999999999999997e-7,
]  # fmt: skip
json_floats = st.one_of(
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**53), 2**53).map(float),
)
json_ints = st.one_of(
    st.integers(-MAX_SAFE, MAX_SAFE),
    st.sampled_from([0, -1, 1, MAX_SAFE, -MAX_SAFE, 10**15, 2**31, -(2**31) - 1]),
)
json_scalars = st.one_of(st.none(), st.booleans(), json_ints, json_floats, json_strings)


def json_values(scalars: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> Any:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(keys, children, max_size=6),
        ),
        max_leaves=30,
    )


# An event-shaped value: an object at the top, objects and lists inside.
event_like = st.dictionaries(json_keys, json_values(json_scalars, json_keys), max_size=8)
any_json = st.one_of(json_values(json_scalars, json_keys), event_like)

# Values that should take the fast path: no floats, ASCII keys only.
ascii_keys = st.text(alphabet=st.characters(max_codepoint=0x7F, exclude_categories=("Cs",)))
fast_scalars = st.one_of(st.none(), st.booleans(), json_ints, json_strings)
fast_json = st.one_of(
    st.dictionaries(ascii_keys, json_values(fast_scalars, ascii_keys), max_size=8),
    json_values(fast_scalars, ascii_keys),
)


def holds_float_or_non_ascii_key(value: Any) -> bool:
    """An independent oracle for ``needs_exact_path``."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(not k.isascii() or holds_float_or_non_ascii_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_float_or_non_ascii_key(v) for v in value)
    return False


PROPERTY = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- 1. properties ----------------------------------------------------------------


@PROPERTY
@given(any_json)
@example({"\ue000": 1, "\U0001f600": 2})
@example({"a": [1.0, -0.0, {"\uffff": None, "\U00010000": True}]})
@example({"s": '\u2028\u2029\x7f\x00\x1f"\\/\U0001f600'})
def test_canonical_json_is_rfc8785(value: Any) -> None:
    expected = rfc8785.dumps(value)
    assert canonical_json(value) == expected
    # Forcing the exact path never changes the answer either.
    assert canonical_json(value, exact=True) == expected
    # needs_exact_path agrees with an independent walk of the value.
    assert needs_exact_path(value) == holds_float_or_non_ascii_key(value)


# An object whose free members ("metadata", "changes") may hold anything and whose
# other members hold only what an event's typed fields hold: text, integers, null,
# and objects or lists of those under ASCII keys.
typed_members = st.dictionaries(
    st.text(alphabet=st.sampled_from("abcdefgh_"), min_size=1, max_size=6),
    json_values(fast_scalars, ascii_keys),
    max_size=6,
)
free_members = st.fixed_dictionaries({
    "metadata": st.dictionaries(json_keys, json_values(json_scalars, json_keys), max_size=6),
    "changes": st.lists(st.fixed_dictionaries(
        {"field": json_strings, "old": json_values(json_scalars, json_keys),
         "new": json_values(json_scalars, json_keys)}), max_size=3),
})
event_documents = st.builds(lambda typed, free: {**typed, **free}, typed_members, free_members)


@PROPERTY
@given(event_documents)
@example({"a": 1, "metadata": {"x": 1.0}, "changes": []})
@example({"metadata": {"\ue000": 1, "\U0001f600": 2.5}, "changes": []})
@example({"z": "t", "metadata": {}, "changes": [{"field": "f", "old": -0.0, "new": 1e21}]})
def test_exact_path_under_the_free_members_is_rfc8785(value: dict[str, Any]) -> None:
    # The narrower walk of the ingest path: floats and non-ASCII keys looked for only
    # under the members that can hold them.
    assert canonical_json(value, exact=True, exact_only_under=("changes", "metadata")) == (
        rfc8785.dumps(value))


@PROPERTY
@given(st.one_of(any_json, fast_json))
def test_fast_path_only_when_orjson_is_exact(value: Any) -> None:
    if not needs_exact_path(value):
        assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(value)
        assert canonical_json(value, exact=False) == rfc8785.dumps(value)


@PROPERTY
@given(fast_json)
def test_fast_path_values_are_taken_fast_and_exact(value: Any) -> None:
    assert not needs_exact_path(value)
    assert canonical_json(value) == orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    assert canonical_json(value) == rfc8785.dumps(value)


def _from_bits(bits: int) -> float:
    value: float = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
    return value


any_double = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(0, 2**64 - 1).map(_from_bits).filter(math.isfinite),
    st.sampled_from(SPECIAL_FLOATS),
)


@settings(max_examples=3000, deadline=None)
@given(any_double)
def test_every_double_prints_as_rfc8785(number: float) -> None:
    expected = rfc8785.dumps(number)
    assert canonical_json(number) == expected
    assert canonical_json({"n": [number], "m": 1}) == b'{"m":1,"n":[' + expected + b"]}"
    assert canonical_json({"\u00e9": number}) == b'{"\xc3\xa9":' + expected + b"}"
    # The text reads back as the same double.
    assert float(expected) == number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, b"1"),
        (-0.0, b"0"),
        ({"x": [1.0, -0.0, 2.5]}, b'{"x":[1,0,2.5]}'),
        (
            {"\ue000": 1, "\U0001f600": 2},
            # UTF-16: U+1F600 is D83D DE00, which sorts before E000.
            '{"\U0001f600":2,"\ue000":1}'.encode(),
        ),
        (
            {"z": {"\uffff": 0, "\U00010000": 0, "a": 0}},
            '{"z":{"a":0,"\U00010000":0,"\uffff":0}}'.encode(),
        ),
    ],
)
def test_where_orjson_differs_the_exact_path_is_taken(value: Any, expected: bytes) -> None:
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != rfc8785.dumps(value)
    assert needs_exact_path(value) is True
    assert canonical_json(value) == expected == rfc8785.dumps(value)


def test_fast_path_typical_event_bytes() -> None:
    event = {
        "seq": 7,
        "actor": {"id": "u1", "name": "Zoë", "email": None, "type": "user"},
        "action": "miner.reboot",
        "metadata": {"rack": "B4", "count": 12, "ok": True, "note": "line\nbreak\u2028"},
    }
    assert not needs_exact_path(event)
    assert canonical_json(event) == rfc8785.dumps(event)
    assert (
        canonical_json(event)
        == (
            '{"action":"miner.reboot","actor":{"email":null,"id":"u1","name":"Zoë","type":"user"},'
            '"metadata":{"count":12,"note":"line\\nbreak\u2028","ok":true,"rack":"B4"},"seq":7}'
        ).encode()
    )


# -- 2. known answers from RFC 8785 ------------------------------------------------

# Section 3.2.2: the sample input, as JSON text.
RFC_3_2_2_INPUT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
# Section 3.2.4 (the result of canonicalising the sample), as UTF-8 bytes.
RFC_3_2_2_OUTPUT = (
    b'{"literals":[null,true,false],'
    b'"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)


def test_rfc8785_section_3_2_2_sample() -> None:
    value = json.loads(RFC_3_2_2_INPUT)
    assert rfc8785.dumps(value) == RFC_3_2_2_OUTPUT  # transcription check
    assert canonical_json(value) == RFC_3_2_2_OUTPUT


def test_rfc8785_section_3_2_2_sample_as_printed() -> None:
    # The RFC prints the result as text: the euro sign is a literal character.
    printed = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    printed += r'"string":"€$\u000f\nA' + "'" + r'B\"\\\\\"/"}'
    assert printed.encode("utf-8") == RFC_3_2_2_OUTPUT


# Section 3.2.3: sorting of properties by UTF-16 code units.
RFC_3_2_3_INPUT = r"""{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}"""
RFC_3_2_3_ORDER = [
    "Carriage Return",
    "One",
    "Control",
    "Latin Small Letter O With Diaeresis",
    "Euro Sign",
    "Emoji: Grinning Face",
    "Hebrew Letter Dalet With Dagesh",
]
RFC_3_2_3_OUTPUT = (
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
    '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
    '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
).encode("utf-8")


def test_rfc8785_section_3_2_3_sorting() -> None:
    value = json.loads(RFC_3_2_3_INPUT)
    assert "\U0001f600" in value  # the surrogate pair escape is one character
    assert rfc8785.dumps(value) == RFC_3_2_3_OUTPUT  # transcription check
    out = canonical_json(value)
    assert out == RFC_3_2_3_OUTPUT
    assert list(json.loads(out).values()) == RFC_3_2_3_ORDER
    # orjson alone would sort U+FB33 before the emoji: this is why the exact path exists.
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != RFC_3_2_3_OUTPUT


# Appendix B: IEEE 754 bit patterns and their JCS serialisation.
RFC_APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@pytest.mark.parametrize(("bits", "expected"), RFC_APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits: str, expected: str) -> None:
    number = _double(bits)
    assert rfc8785.dumps(number) == expected.encode()  # transcription check
    assert canonical_json(number) == expected.encode()
    assert canonical_json([number]) == f"[{expected}]".encode()
    assert canonical_json({"n": number}) == f'{{"n":{expected}}}'.encode()
    # The serialisation reads back as the same double (-0 reads back as 0).
    assert float(expected) == number


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000"])
def test_rfc8785_appendix_b_nan_and_infinity_are_errors(bits: str) -> None:
    number = _double(bits)
    assert not math.isfinite(number)
    with pytest.raises(CanonicalFormError):
        canonical_json(number)


# -- 3. values with no canonical form -------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        {"a": float("nan")},
        {"a": [1, {"b": float("inf")}]},
        [float("-inf")],
        "\ud800",
        "\udc00",
        "ok \ud83d",
        {"a": "\ud800"},  # fast path
        {"a": ["\udfff", 1.5]},  # exact path (a float)
        {"\ud800": 1},  # lone surrogate key
        {"\u00e9": "x\udc00"},  # exact path (a non-ASCII key)
        ["\ud800"],
    ],
    ids=repr,
)
def test_values_without_canonical_form_raise(value: Any) -> None:
    with pytest.raises(CanonicalFormError):
        canonical_json(value)


@pytest.mark.parametrize("value", [float("nan"), {"a": "\ud800"}, ["\udc00", 0.5]], ids=repr)
def test_forced_exact_path_raises_too(value: Any) -> None:
    with pytest.raises(CanonicalFormError):
        canonical_json(value, exact=True)


def test_canonical_form_error_is_a_value_error() -> None:
    assert issubclass(CanonicalFormError, ValueError)
