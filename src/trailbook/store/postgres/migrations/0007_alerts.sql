-- Trailbook PostgreSQL schema, version 7: alerts. Channels (where messages go) and
-- rules (what raises an alert) are staff-managed data that may be changed and
-- deleted; the rule engine's state, its per-tenant cursor and the delivery outbox are
-- written together (one transaction per evaluated batch), so a restart neither loses
-- nor repeats a firing. ``leases`` lets one process of several run a background job.

CREATE TABLE alert_channels (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  integer NOT NULL REFERENCES tenants (id),
    name       text NOT NULL,                  -- as staff wrote it (trimmed)
    name_key   text NOT NULL,                  -- the name case-folded, for uniqueness
    kind       text NOT NULL CHECK (kind IN ('email', 'slack', 'telegram', 'webhook')),
    config     text NOT NULL,                  -- JSON object, secrets included
    created_at text NOT NULL,
    updated_at text NOT NULL
);
CREATE UNIQUE INDEX alert_channels_name ON alert_channels (tenant_id, name_key);

CREATE TABLE alert_rules (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      integer NOT NULL REFERENCES tenants (id),
    name           text NOT NULL,
    name_key       text NOT NULL,
    query          text NOT NULL,              -- the query language
    threshold      integer NOT NULL CHECK (threshold >= 1),
    window_seconds integer NOT NULL CHECK (window_seconds >= 0),
    group_by       text,                       -- an event field; NULL: one group
    quiet_seconds  integer NOT NULL CHECK (quiet_seconds >= 0),
    channels       text NOT NULL,              -- JSON list of alert_channels ids
    enabled        boolean NOT NULL,
    created_at     text NOT NULL,
    updated_at     text NOT NULL
);
CREATE UNIQUE INDEX alert_rules_name ON alert_rules (tenant_id, name_key);

-- What the engine remembers of one rule and group (window, quiet period); removed
-- with its rule.
CREATE TABLE alert_rule_states (
    rule_id   integer NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    group_key text NOT NULL,
    state     text NOT NULL,                   -- JSON object
    PRIMARY KEY (rule_id, group_key)
);

-- The seq of the last event of the tenant the engine has seen.
CREATE TABLE alert_cursors (
    tenant_id integer PRIMARY KEY REFERENCES tenants (id),
    seq       bigint NOT NULL
);

-- The outbox: one message to one channel. Kept after delivery (the history staff
-- see); rule_id and channel_id are not foreign keys, so the history outlives them.
CREATE TABLE alert_deliveries (
    id              text COLLATE "C" PRIMARY KEY, -- the delivery id, UUIDv7 (time-ordered)
    tenant_id       integer NOT NULL REFERENCES tenants (id),
    rule_id         integer,                   -- NULL for a test message
    channel_id      integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('alert', 'summary', 'test')),
    message         text NOT NULL,             -- JSON object
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL,
    next_attempt_us bigint NOT NULL,
    last_error      text,
    created_at      text NOT NULL,
    delivered_at    text
);
-- What is due, for the delivery worker.
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_us);
-- A tenant's deliveries newest first, all or of one state, and their counts.
CREATE INDEX alert_deliveries_tenant ON alert_deliveries (tenant_id, id);
CREATE INDEX alert_deliveries_tenant_state ON alert_deliveries (tenant_id, state, id);

-- Who runs a background job now: a holder keeps its lease by renewing it before
-- ``expires_us``; an expired lease may be taken by another.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_us bigint NOT NULL
);
