"""RFC 8785 (JSON Canonicalization Scheme) bytes of an event.

Two paths give the same bytes:

* fast: msgspec's JSON encoder with sorted keys (orjson with ``OPT_SORT_KEYS`` gives
  the same bytes; msgspec measured ~20% faster on demo events). For JSON holding no
  floating-point numbers and only ASCII object keys, its output *is* RFC 8785: it
  escapes exactly the characters JCS escapes, writes other characters as UTF-8, and
  sorts ASCII keys in the same order as UTF-16 code units. Integers are limited to
  the I-JSON range by validation, so they print the same too.
* exact, when a float or a non-ASCII key appears, because there the two differ: JCS
  prints ``1.0`` as ``1``, ``-0.0`` as ``0`` and ``1e16`` as ``10000000000000000``,
  and sorts keys by UTF-16 code units (so U+E000 sorts after U+1F600; by code points
  it is the other way round). Floats are then written by ``es_number`` (the ECMAScript
  rules) and passed to the encoder as raw JSON; non-ASCII keys go to the ``rfc8785``
  package. The exact path with floats costs ~3 µs an event; ``rfc8785`` ~100 µs.

``tests/integrity/test_canonical.py`` proves the fast path byte-equal to ``rfc8785``
over random events, including the cases above."""

from __future__ import annotations

from typing import Any

import msgspec
import rfc8785

# Sorted keys; strings escaped as RFC 8785 says (only '"', '\\' and control characters).
_ENCODER = msgspec.json.Encoder(order="sorted")
_SAFE = 2**53 - 1


class CanonicalFormError(ValueError):
    """The value cannot be put in canonical form (e.g. a lone surrogate, NaN)."""


def needs_exact_path(value: Any) -> bool:
    """True if ``value`` holds a float, an integer beyond ±2**53 or a non-ASCII object
    key anywhere."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not key.isascii():
                return True
            if isinstance(item, (dict, list, float, int)) and needs_exact_path(item):
                return True
        return False
    if isinstance(value, list):
        return any(isinstance(item, (dict, list, float, int)) and needs_exact_path(item)
                   for item in value)
    if isinstance(value, float):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE


def es_number(value: float) -> str:
    """A float as ECMAScript's Number.prototype.toString writes it (RFC 8785 §3.2.2.3):
    the shortest digits that read back to the same double (Python's repr finds them),
    laid out by the ECMAScript rules."""
    if value != value or value in (float("inf"), float("-inf")):
        raise CanonicalFormError("NaN and infinite numbers are not JSON")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)  # value = 0.digits * 10**point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        head = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{head}e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + text


def _floats_as_fragments(value: Any) -> tuple[Any, bool]:
    """A copy of ``value`` with each float replaced by its RFC 8785 text as raw JSON
    (``msgspec.Raw``); the flag says whether a non-ASCII key was seen (then only the full
    implementation sorts keys right)."""
    if isinstance(value, float):
        return msgspec.Raw(es_number(value).encode()), False
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE:
        # Beyond I-JSON: only a whole double written as digits gets here; print it so.
        return msgspec.Raw(es_number(float(value)).encode()), False
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not key.isascii():
                return value, True
            out[key], foreign = _floats_as_fragments(item)
            if foreign:
                return value, True
        return out, False
    if isinstance(value, list):
        items = []
        for item in value:
            converted, foreign = _floats_as_fragments(item)
            if foreign:
                return value, True
            items.append(converted)
        return items, False
    return value, False


def _big_ints_as_floats(value: Any) -> Any:
    """Integers beyond ±2**53 as floats. Validation refuses them from clients, but a
    whole float such as 4.98e16 is written as digits and reads back as an int; as a
    double it prints the same digits again."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE:
        return float(value)
    if isinstance(value, dict):
        return {k: _big_ints_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_big_ints_as_floats(v) for v in value]
    return value


def _fragments_under(value: dict[str, Any], keys: tuple[str, ...]) -> tuple[Any, bool]:
    """``_floats_as_fragments`` of only the members ``keys`` of ``value`` (a shallow
    copy holding them converted); the other members are taken as they are."""
    converted = dict(value)
    for key in keys:
        converted[key], foreign = _floats_as_fragments(value[key])
        if foreign:
            return value, True
    return converted, False


def canonical_json(
    value: Any, *, exact: bool | None = None, exact_only_under: tuple[str, ...] | None = None
) -> bytes:
    """RFC 8785 bytes of ``value``.

    ``exact`` says whether the value may hold floats or non-ASCII keys: the ingest path
    learns it while validating; ``None`` finds out by walking the value. Floats alone
    are written by ``es_number`` and msgspec; non-ASCII keys go to the ``rfc8785``
    package, whose key order is by UTF-16 code units.

    ``exact_only_under`` names the members of ``value`` (an object with ASCII keys)
    that may hold them: the caller knows that the rest holds none (an event's typed
    fields), so the exact path looks only there (measured on demo events with a float:
    ~24 µs an event walking the whole document, ~9 walking only these)."""
    if exact is None:
        exact = needs_exact_path(value)
    try:
        if not exact:
            return _ENCODER.encode(value)
        if exact_only_under is None:
            converted, foreign = _floats_as_fragments(value)
        else:
            converted, foreign = _fragments_under(value, exact_only_under)
        if foreign:
            return bytes(rfc8785.dumps(_big_ints_as_floats(value)))
        return _ENCODER.encode(converted)
    except CanonicalFormError:
        raise
    except Exception as exc:  # msgspec and rfc8785 raise their own error types
        raise CanonicalFormError(str(exc)) from exc
