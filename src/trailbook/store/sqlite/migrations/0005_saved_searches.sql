-- Trailbook SQLite schema, version 5: saved searches, each staff user's own named
-- searches (the query language text and the other filter parameters). They are the
-- user's data, not history: they may be renamed, changed and deleted.

CREATE TABLE saved_searches (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,                  -- as the user wrote it (trimmed)
    name_key   TEXT NOT NULL,                  -- the name case-folded, for uniqueness
    query      TEXT NOT NULL,                  -- the query language; '' for none
    params     TEXT NOT NULL,                  -- JSON object: parameter -> list of values
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- A user's names are unique whatever their case; the same index lists them by name.
CREATE UNIQUE INDEX saved_searches_user_name ON saved_searches (tenant_id, user_id, name_key);
