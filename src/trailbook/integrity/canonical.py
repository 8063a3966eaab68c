"""RFC 8785 (JSON Canonicalization Scheme) bytes of an event.

Two paths give the same bytes:

* fast: ``orjson`` with sorted keys. For JSON holding no floating-point numbers and
  only ASCII object keys, orjson's output *is* RFC 8785: it escapes exactly the
  characters JCS escapes, writes other characters as UTF-8, and sorts ASCII keys in
  the same order as UTF-16 code units. Integers are limited to the I-JSON range by
  validation, so they print the same too.
* exact: the ``rfc8785`` package, used whenever a float or a non-ASCII key appears.
  There the two differ: JCS prints ``1.0`` as ``1`` and ``-0.0`` as ``0``, and sorts
  keys by UTF-16 code units (so U+E000 sorts after U+1F600; by code points it is the
  other way round).

``tests/integrity/test_canonical.py`` proves the fast path byte-equal to ``rfc8785``
over random events, including the cases above."""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

_SORT = orjson.OPT_SORT_KEYS


class CanonicalFormError(ValueError):
    """The value cannot be put in canonical form (e.g. a lone surrogate, NaN)."""


def needs_exact_path(value: Any) -> bool:
    """True if ``value`` holds a float or a non-ASCII object key anywhere."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not key.isascii():
                return True
            if isinstance(item, (dict, list, float)) and needs_exact_path(item):
                return True
        return False
    if isinstance(value, list):
        return any(
            isinstance(item, (dict, list, float)) and needs_exact_path(item) for item in value
        )
    return isinstance(value, float)


def canonical_json(value: Any, *, exact: bool | None = None) -> bytes:
    """RFC 8785 bytes of ``value``.

    ``exact`` says which path to take when the caller already knows (the ingest path
    learns it while validating); ``None`` finds out by walking the value."""
    if exact is None:
        exact = needs_exact_path(value)
    try:
        if exact:
            return bytes(rfc8785.dumps(value))
        return orjson.dumps(value, option=_SORT)
    except (TypeError, ValueError, OverflowError, orjson.JSONEncodeError) as exc:
        raise CanonicalFormError(str(exc)) from exc
    except Exception as exc:  # rfc8785 raises its own error types
        raise CanonicalFormError(str(exc)) from exc
