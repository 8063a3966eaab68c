-- Trailbook SQLite schema, version 1.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    categories  TEXT NOT NULL DEFAULT '[]',   -- JSON array: the tenant's own categories
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,               -- space-separated
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- The newest seq and hash of each tenant's chain; updated in the append transaction.
CREATE TABLE chain_heads (
    tenant_id  INTEGER PRIMARY KEY REFERENCES tenants(id),
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL
);

-- pos is the time-ordered position: occurred_at in microseconds << 10, plus a slot
-- for events in the same microsecond. Ordering by pos is ordering by occurred_at,
-- so time ranges and "newest first" are rowid ranges, and the full-text index
-- (whose rowid is pos) returns matches newest first without sorting.
CREATE TABLE events (
    pos          INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    id           BLOB NOT NULL,               -- UUIDv7, 16 bytes
    category     TEXT NOT NULL,
    action       TEXT NOT NULL,
    idem_key     TEXT,
    idem_digest  BLOB,
    hash         BLOB NOT NULL,
    doc          BLOB NOT NULL                -- RFC 8785 form of the event without hash
);
CREATE UNIQUE INDEX events_tenant_seq ON events (tenant_id, seq);
CREATE UNIQUE INDEX events_id ON events (id);
CREATE UNIQUE INDEX events_tenant_idem ON events (tenant_id, idem_key) WHERE idem_key IS NOT NULL;
-- Each index ends in pos (the rowid), so each serves "newest first" for its prefix.
CREATE INDEX events_tenant_pos ON events (tenant_id);
CREATE INDEX events_tenant_category ON events (tenant_id, category);
CREATE INDEX events_tenant_action ON events (tenant_id, action);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'trailbook: events are append-only');
END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'trailbook: events are append-only');
END;

-- Contentless full-text index; rowid = events.pos. Columns: free text, actor words,
-- target words, and exact-match key tokens (see trailbook/query/terms.py).
CREATE VIRTUAL TABLE events_fts USING fts5 (
    body, actor, target, keys,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Measured (docs/benchmarks.md): merging segments less eagerly and buffering a
-- whole batch's terms in memory cut the index's share of ingest time by a fifth.
INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);
INSERT INTO events_fts (events_fts, rank) VALUES ('crisismerge', 64);
INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', 67108864);

CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   BLOB NOT NULL,
    UNIQUE (tenant_id, seq)
);
