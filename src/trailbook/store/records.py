"""Plain records that cross the store boundary. No SQL, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    name: str
    categories: tuple[str, ...]  # the tenant's own, beyond the defaults
    created_at: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    tenant_id: int
    name: str
    prefix: str  # the first characters of the secret, to tell keys apart
    key_hash: bytes
    scopes: tuple[str, ...]
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: its canonical document (without ``hash``) and hash."""

    pos: int  # the store's time-ordered position (occurred_at µs << 10 | slot)
    seq: int
    doc: bytes
    hash: bytes


class Appended(msgspec.Struct, frozen=True, gc=False):
    """What an append answers for one event. A struct, not a dataclass: one is made
    for every event appended, and a frozen dataclass took ~0.4 µs to make (a struct
    ~0.05)."""

    id: str
    seq: int
    hash: bytes
    duplicate: bool
    # For an event stored by this append: the hash it was linked to (its
    # predecessor's). Lets the checkpoint service know the chain it sealed is its own.
    previous: bytes | None = None


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored event with the indexed columns, for verification."""

    seq: int
    pos: int
    id_bytes: bytes
    category: str
    action: str
    idempotency_key: str | None
    doc: bytes
    hash: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    tenant_id: int
    seq: int
    hash: bytes
    created_at: str
    key_id: str
    signature: bytes
    # The Merkle root of the first ``seq`` events (the tree's size is ``seq``); None
    # for checkpoints signed before the tree existed.
    tree_root: bytes | None = None


@dataclass(frozen=True, slots=True)
class ChainHead:
    tenant_id: int
    seq: int
    hash: bytes


# Fields that facets count events by.
FACET_FIELDS = ("category", "action", "actor", "target_type", "result", "severity", "ip")


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str | None  # None: events without the field (no ip, no target)
    count: int


@dataclass(frozen=True, slots=True)
class MatchCount:
    """Matches counted up to a cap: ``count`` is exact when ``capped`` is false;
    otherwise ``oldest_pos`` is the position of the last one counted (for an
    estimate of the rest)."""

    count: int
    capped: bool
    oldest_pos: int | None


@dataclass(frozen=True, slots=True)
class User:
    """A staff account of one tenant."""

    id: int
    tenant_id: int
    email: str
    name: str
    role: str
    password_hash: str
    must_change_password: bool
    created_at: str
    disabled_at: str | None
    last_login_at: str | None


@dataclass(frozen=True, slots=True)
class CustomRole:
    """A tenant's own role (the built-in ones live in code)."""

    id: int
    tenant_id: int
    name: str
    permissions: tuple[str, ...]
    categories: tuple[str, ...]  # ("*",) for every category
    created_at: str


@dataclass(frozen=True, slots=True)
class Session:
    """A staff login. ``id`` is its public name; the cookie's secret is kept only as
    ``token_hash``."""

    id: str
    token_hash: bytes
    tenant_id: int
    user_id: int
    csrf_token: str
    created_us: int
    last_seen_us: int
    expires_us: int
    ip: str | None
    user_agent: str | None
    revoked_us: int | None = None
    revoked_by: str | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    """A comment or a tag on one event: its own append-only record, which never
    changes the event. The author's email and name are kept as they were when it
    was written."""

    id: str  # UUIDv7, time-ordered
    tenant_id: int
    event_pos: int  # the event's position in this store (``StoredEvent.pos``)
    event_id: str
    kind: str  # "comment" or "tag"
    body: str  # the comment's text, or the tag
    author_user_id: int
    author_email: str
    author_name: str
    created_at: str


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A staff user's named search: the query language text and the other filter
    parameters, as the logs page's URL gives them. The user's own data: it may be
    changed and deleted."""

    id: int
    tenant_id: int
    user_id: int
    name: str
    query: str  # "" for none
    params: dict[str, list[str]]  # filter parameter -> its values
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ExportJob:
    """An export the server writes to a file in the background, downloaded when done.
    ``owner`` is who started it (``user:<id>`` or ``key:<id>``): only they see it."""

    id: str
    tenant_id: int
    owner: str
    format: str
    query: str | None
    filter: dict[str, object]
    tz: str
    state: str  # queued, running, done, failed, cancelled
    total: int | None
    rows: int
    bytes: int
    filename: str
    path: str
    sha256: str | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_us: int
    alive_us: int  # when its process last said it was running it
