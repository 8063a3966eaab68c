-- Trailbook PostgreSQL schema, version 3: annotations, the comments and tags staff
-- put on events. Each is its own append-only record pointing at an event (by its
-- position and its id); the event itself never changes.

CREATE TABLE annotations (
    id             text PRIMARY KEY,              -- UUIDv7, time-ordered
    tenant_id      integer NOT NULL REFERENCES tenants (id),
    event_pos      bigint NOT NULL,               -- events.pos
    event_id       text NOT NULL,                 -- the event's id, as the API shows it
    kind           text NOT NULL CHECK (kind IN ('comment', 'tag')),
    body           text NOT NULL,                 -- the comment's text, or the tag
    author_user_id integer NOT NULL,
    author_email   text NOT NULL,
    author_name    text NOT NULL,
    created_at     text NOT NULL
);
-- An event's annotations, for its page.
CREATE INDEX annotations_event ON annotations (tenant_id, event_pos);
-- A tag is stored once per event; the same index finds the events of a tag (tag
-- search reads event_pos from it alone). Comments stay out of it: a B-tree entry
-- cannot hold a long text.
CREATE UNIQUE INDEX annotations_tag ON annotations (tenant_id, body, event_pos)
    WHERE kind = 'tag';

-- Like events, annotations are refused any change; only the retention path (which
-- sets trailbook.retention = 'on' for its own transaction) may remove them.
CREATE FUNCTION trailbook_refuse_annotation_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('trailbook.retention', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'trailbook: % on %: annotations are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER annotations_append_only
    BEFORE UPDATE OR DELETE ON annotations
    FOR EACH ROW EXECUTE FUNCTION trailbook_refuse_annotation_change();
CREATE TRIGGER annotations_no_truncate
    BEFORE TRUNCATE ON annotations
    FOR EACH STATEMENT EXECUTE FUNCTION trailbook_refuse_annotation_change();
