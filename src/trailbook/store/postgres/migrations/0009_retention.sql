-- Trailbook PostgreSQL schema, version 9: retention. Policies say how long each
-- category of a tenant's events is kept ('*' is the tenant's default; keep_days NULL
-- is forever); legal holds are queries whose events are never purged until released.
-- A purge removes events for good, after writing them to a signed archive: it keeps,
-- per removed event, its chain hash and Merkle leaf (purged_events) under a signed
-- record of the purge (purges), so the remaining chain and tree still verify.

CREATE TABLE retention_policies (
    tenant_id   integer NOT NULL REFERENCES tenants (id),
    category    text NOT NULL,
    keep_days   integer,
    updated_at  text NOT NULL,
    updated_by  text NOT NULL,
    PRIMARY KEY (tenant_id, category)
);

CREATE TABLE legal_holds (
    id             text PRIMARY KEY,
    tenant_id      integer NOT NULL REFERENCES tenants (id),
    name           text NOT NULL,
    query          text NOT NULL,
    reason         text NOT NULL,
    created_at     text NOT NULL,
    created_by     text NOT NULL,
    released_at    text,
    released_by    text,
    release_reason text
);
CREATE INDEX legal_holds_tenant ON legal_holds (tenant_id, released_at);

CREATE TABLE purges (
    id              text PRIMARY KEY,
    tenant_id       integer NOT NULL REFERENCES tenants (id),
    created_at      text NOT NULL,
    events          bigint NOT NULL,
    first_seq       bigint NOT NULL,
    last_seq        bigint NOT NULL,
    start_seq       bigint NOT NULL,
    start_hash      bytea NOT NULL,
    digest          bytea NOT NULL,
    archive         text NOT NULL,
    archive_sha256  text NOT NULL,
    manifest_sha256 text NOT NULL,
    key_id          text NOT NULL,
    signature       bytea NOT NULL,
    summary         text NOT NULL,
    recorded_seq    bigint
);
CREATE INDEX purges_tenant ON purges (tenant_id, created_at);

CREATE TABLE purged_events (
    tenant_id  integer NOT NULL,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    leaf       bytea NOT NULL,
    purge_id   text NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TRIGGER purged_events_append_only
    BEFORE UPDATE OR DELETE ON purged_events
    FOR EACH ROW EXECUTE FUNCTION trailbook_refuse_history_change();
CREATE TRIGGER purged_events_no_truncate
    BEFORE TRUNCATE ON purged_events
    FOR EACH STATEMENT EXECUTE FUNCTION trailbook_refuse_history_change();
