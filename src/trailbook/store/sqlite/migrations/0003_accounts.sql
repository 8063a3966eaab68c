-- Trailbook SQLite schema, version 3: staff accounts, custom roles, sessions, and
-- failed logins (for brute-force protection). Built-in roles live in code.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL UNIQUE,          -- lower case; one account per address
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,                 -- argon2id, PHC string
    must_change   INTEGER NOT NULL DEFAULT 0,    -- 1: a one-time password was issued
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    last_login_at TEXT
);
CREATE INDEX users_tenant ON users (tenant_id);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    permissions TEXT NOT NULL,                   -- space-separated
    categories  TEXT NOT NULL,                   -- space-separated; '*' for all
    created_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- A session is found by the SHA-256 of its cookie's secret; ``id`` is the public name
-- shown in lists and used to revoke it.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    csrf_token   TEXT NOT NULL,
    created_us   INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    expires_us   INTEGER NOT NULL,               -- the absolute end
    ip           TEXT,
    user_agent   TEXT,
    revoked_us   INTEGER,
    revoked_by   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_tenant ON sessions (tenant_id);

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    email     TEXT NOT NULL,
    ip        TEXT,
    at_us     INTEGER NOT NULL,
    cleared   INTEGER NOT NULL DEFAULT 0         -- 1: a later login of the account succeeded
);
CREATE INDEX login_failures_email ON login_failures (email, at_us);
CREATE INDEX login_failures_ip ON login_failures (ip, at_us);
