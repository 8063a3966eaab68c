-- Trailbook SQLite schema, version 8: alerts. Channels (where messages go) and rules
-- (what raises an alert) are staff-managed data that may be changed and deleted; the
-- rule engine's state, its per-tenant cursor and the delivery outbox are written
-- together (one transaction per evaluated batch), so a restart neither loses nor
-- repeats a firing. ``leases`` lets one process of several run a background job.

-- AUTOINCREMENT on channels and rules: an id is never given again after a delete, so
-- an outbox row or a rule state never reaches a newer channel or rule by an old id.
CREATE TABLE alert_channels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,                  -- as staff wrote it (trimmed)
    name_key   TEXT NOT NULL,                  -- the name case-folded, for uniqueness
    kind       TEXT NOT NULL CHECK (kind IN ('email', 'slack', 'telegram', 'webhook')),
    config     TEXT NOT NULL,                  -- JSON object, secrets included
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_channels_name ON alert_channels (tenant_id, name_key);

CREATE TABLE alert_rules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    query          TEXT NOT NULL,              -- the query language
    threshold      INTEGER NOT NULL CHECK (threshold >= 1),
    window_seconds INTEGER NOT NULL CHECK (window_seconds >= 0),
    group_by       TEXT,                       -- an event field; NULL: one group
    quiet_seconds  INTEGER NOT NULL CHECK (quiet_seconds >= 0),
    channels       TEXT NOT NULL,              -- JSON list of alert_channels ids
    enabled        INTEGER NOT NULL,           -- 1 or 0
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_rules_name ON alert_rules (tenant_id, name_key);

-- What the engine remembers of one rule and group (window, quiet period); removed
-- with its rule.
CREATE TABLE alert_rule_states (
    rule_id   INTEGER NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    group_key TEXT NOT NULL,
    state     TEXT NOT NULL,                   -- JSON object
    PRIMARY KEY (rule_id, group_key)
);

-- The seq of the last event of the tenant the engine has seen.
CREATE TABLE alert_cursors (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    seq       INTEGER NOT NULL
);

-- The outbox: one message to one channel. Kept after delivery (the history staff
-- see); rule_id and channel_id are not foreign keys, so the history outlives them.
CREATE TABLE alert_deliveries (
    id              TEXT PRIMARY KEY,          -- the delivery id, UUIDv7 (time-ordered)
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    rule_id         INTEGER,                   -- NULL for a test message
    channel_id      INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('alert', 'summary', 'test')),
    message         TEXT NOT NULL,             -- JSON object
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL,
    next_attempt_us INTEGER NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
-- What is due, for the delivery worker.
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_us);
-- A tenant's deliveries newest first, all or of one state, and their counts.
CREATE INDEX alert_deliveries_tenant ON alert_deliveries (tenant_id, id);
CREATE INDEX alert_deliveries_tenant_state ON alert_deliveries (tenant_id, state, id);

-- Who runs a background job now: a holder keeps its lease by renewing it before
-- ``expires_us``; an expired lease may be taken by another.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_us INTEGER NOT NULL
);
