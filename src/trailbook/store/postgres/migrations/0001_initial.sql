-- Trailbook PostgreSQL schema, version 1. Created in the connection's current schema
-- (the first of search_path), so one database can hold several trails.

CREATE TABLE tenants (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    categories  text NOT NULL DEFAULT '[]',   -- JSON array: the tenant's own categories
    created_at  text NOT NULL
);

CREATE TABLE api_keys (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    integer NOT NULL REFERENCES tenants (id),
    name         text NOT NULL,
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    scopes       text NOT NULL,               -- space-separated
    created_at   text NOT NULL,
    expires_at   text,
    last_used_at text,
    revoked_at   text
);

-- The newest seq and hash of each tenant's chain. Every append locks its tenant's row
-- (SELECT ... FOR UPDATE) for the length of its transaction: that lock is what keeps
-- one gap-free chain per tenant across processes and hosts. The row is made with the
-- tenant, so there is always one to lock.
CREATE TABLE chain_heads (
    tenant_id  integer PRIMARY KEY REFERENCES tenants (id),
    seq        bigint NOT NULL,
    hash       bytea NOT NULL
);

-- Partitioned by month of occurred_at. pos is the time-ordered position
-- (occurred_at in microseconds << 10, plus a slot for events of the same microsecond),
-- so a month is a pos range; see trailbook/store/postgres/partitions.py. The service
-- creates the months ahead of time; events outside them (back-filled history, clocks
-- far ahead) land in the default partition.
CREATE TABLE events (
    tenant_id  integer NOT NULL,
    pos        bigint NOT NULL,
    seq        bigint NOT NULL,
    id         uuid NOT NULL,
    category   text NOT NULL,
    action     text NOT NULL,
    idem_key   text,
    hash       bytea NOT NULL,
    doc        text NOT NULL,      -- RFC 8785 form of the event without hash (exact bytes)
    search     tsvector NOT NULL,  -- words (weights A actor, B target, C body) + key tokens (D)
    metadata   jsonb,              -- copies of the doc's metadata and changes, to query
    changes    jsonb,              -- with JSON operators (the doc stays the record)
    PRIMARY KEY (tenant_id, pos)   -- newest first within a tenant, and the keyset cursor
) PARTITION BY RANGE (pos);

CREATE TABLE events_default PARTITION OF events DEFAULT;

CREATE INDEX events_tenant_seq ON events (tenant_id, seq);
CREATE INDEX events_id ON events (id);
CREATE INDEX events_search ON events USING gin (search);

-- Idempotency keys live beside the events: a partitioned table cannot hold a unique
-- index that leaves out its partition key, and a key must be unique per tenant.
CREATE TABLE idempotency_keys (
    tenant_id  integer NOT NULL,
    key        text NOT NULL,
    digest     bytea NOT NULL,
    id         uuid NOT NULL,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- The database itself refuses to change history. The one exception is the retention
-- path, which sets trailbook.retention = 'on' for its own transaction.
CREATE FUNCTION trailbook_refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('trailbook.retention', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'trailbook: % on %: events are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION trailbook_refuse_history_change();
-- TRUNCATE triggers are not passed on to partitions: each partition gets its own
-- (the default one here, the monthly ones as the service creates them).
CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION trailbook_refuse_history_change();
CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events_default
    FOR EACH STATEMENT EXECUTE FUNCTION trailbook_refuse_history_change();
CREATE TRIGGER idempotency_keys_append_only
    BEFORE UPDATE OR DELETE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION trailbook_refuse_history_change();

-- The source address of a stored document, for CIDR searches finer than the indexed
-- network prefixes.
CREATE FUNCTION trailbook_source_ip(doc text) RETURNS inet
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ((doc::jsonb) -> 'source' ->> 'ip')::inet
$$;

CREATE TABLE checkpoints (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   integer NOT NULL REFERENCES tenants (id),
    seq         bigint NOT NULL,
    hash        bytea NOT NULL,
    created_at  text NOT NULL,
    key_id      text NOT NULL,
    signature   bytea NOT NULL,
    UNIQUE (tenant_id, seq)
);
