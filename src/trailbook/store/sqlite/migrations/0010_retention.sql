-- Trailbook SQLite schema, version 10: retention. Policies say how long each category
-- of a tenant's events is kept ('*' is the tenant's default; keep_days NULL is
-- forever); legal holds are queries whose events are never purged until released.
-- A purge removes events for good, after writing them to a signed archive: it keeps,
-- per removed event, its chain hash and Merkle leaf (purged_events) under a signed
-- record of the purge (purges), so the remaining chain and tree still verify.

CREATE TABLE retention_policies (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    category    TEXT NOT NULL,                 -- a category, or '*' for the default
    keep_days   INTEGER,                       -- NULL: forever
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, category)
);

CREATE TABLE legal_holds (
    id             TEXT PRIMARY KEY,           -- UUIDv7 as hex
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    query          TEXT NOT NULL,              -- the query language
    reason         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    released_at    TEXT,
    released_by    TEXT,
    release_reason TEXT
);
CREATE INDEX legal_holds_tenant ON legal_holds (tenant_id, released_at);

CREATE TABLE purges (
    id              TEXT PRIMARY KEY,          -- UUIDv7 as hex
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    created_at      TEXT NOT NULL,
    events          INTEGER NOT NULL,          -- events removed
    first_seq       INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL,
    start_seq       INTEGER NOT NULL,          -- the new start: seq just before the
    start_hash      BLOB NOT NULL,             -- first kept event, and its hash
    digest          BLOB NOT NULL,             -- SHA-256 over (seq, hash, leaf) removed
    archive         TEXT NOT NULL,             -- archive file name
    archive_sha256  TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    signature       BLOB NOT NULL,
    summary         TEXT NOT NULL,             -- JSON: counts by category, cut-offs, holds
    recorded_seq    INTEGER                    -- the system.retention.run event, once written
);
CREATE INDEX purges_tenant ON purges (tenant_id, created_at);

CREATE TABLE purged_events (
    tenant_id  INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    leaf       BLOB NOT NULL,
    purge_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;

CREATE TRIGGER purged_events_append_only_update BEFORE UPDATE ON purged_events
BEGIN
    SELECT RAISE(ABORT, 'trailbook: purged events are append-only');
END;
CREATE TRIGGER purged_events_append_only_delete BEFORE DELETE ON purged_events
BEGIN
    SELECT RAISE(ABORT, 'trailbook: purged events are append-only');
END;
