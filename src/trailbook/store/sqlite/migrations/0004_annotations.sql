-- Trailbook SQLite schema, version 4: annotations, the comments and tags staff put on
-- events. Each is its own append-only record pointing at an event (by its position
-- and its id); the event itself never changes.

CREATE TABLE annotations (
    id             TEXT PRIMARY KEY,              -- UUIDv7, time-ordered
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    event_pos      INTEGER NOT NULL,              -- events.pos
    event_id       TEXT NOT NULL,                 -- the event's id, as the API shows it
    kind           TEXT NOT NULL CHECK (kind IN ('comment', 'tag')),
    body           TEXT NOT NULL,                 -- the comment's text, or the tag
    author_user_id INTEGER NOT NULL,
    author_email   TEXT NOT NULL,
    author_name    TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
-- An event's annotations, for its page.
CREATE INDEX annotations_event ON annotations (tenant_id, event_pos);
-- A tag is stored once per event; the same index finds the events of a tag (tag
-- search reads event_pos from it alone). Comments stay out of it: their text is long.
CREATE UNIQUE INDEX annotations_tag ON annotations (tenant_id, body, event_pos)
    WHERE kind = 'tag';

CREATE TRIGGER annotations_append_only_update BEFORE UPDATE ON annotations
BEGIN
    SELECT RAISE(ABORT, 'trailbook: annotations are append-only');
END;
CREATE TRIGGER annotations_append_only_delete BEFORE DELETE ON annotations
BEGIN
    SELECT RAISE(ABORT, 'trailbook: annotations are append-only');
END;
