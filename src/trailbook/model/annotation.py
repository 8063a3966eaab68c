"""The rules of annotations (comments and tags on events), shared by the service that
stores them and the filters that search by tag."""

from __future__ import annotations

import re

from trailbook.errors import field_error

MAX_TAG = 64
MAX_COMMENT = 4000
KINDS = ("comment", "tag")
TAG_RULE = f"1-{MAX_TAG} characters of a-z, 0-9 and . _ : -, starting with a letter or digit"
_TAG = re.compile(r"[a-z0-9][a-z0-9._:-]*")
# C0 controls and DEL, but tab, line feed and carriage return (a comment may have lines).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_tag(raw: str, field: str = "tag") -> str:
    """``raw`` as a stored tag (lower case), or ``ValidationFailed`` naming ``field``."""
    tag = raw.strip().lower()
    if not 1 <= len(tag) <= MAX_TAG or not _TAG.fullmatch(tag):
        raise field_error(field, f"{raw[:80]!r} is not a tag: use {TAG_RULE}")
    return tag


def clean_comment(raw: str, field: str = "text") -> str:
    """A comment's text without surrounding white space, or ``ValidationFailed``."""
    text = raw.strip()
    if not 1 <= len(text) <= MAX_COMMENT:
        raise field_error(field, f"a comment is 1-{MAX_COMMENT:,} characters "
                                 f"(after trimming spaces); this is {len(text):,}")
    if _CONTROL.search(text):
        raise field_error(field, "control characters are not allowed (tabs and line "
                                 "breaks are)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise field_error(field, "not valid Unicode (a lone surrogate)") from None
    return text
