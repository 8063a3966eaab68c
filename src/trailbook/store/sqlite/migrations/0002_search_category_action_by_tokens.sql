-- Trailbook SQLite schema, version 2.
--
-- Category and action filters use the full-text index's key tokens (which every
-- event has anyway) instead of two B-tree indexes of their own. Measured on the bulk
-- ingest path (docs/benchmarks.md): the two indexes cost ~7 µs of the writer's
-- ~35 µs per event; an FTS5 token walks its matches newest first just as well.
DROP INDEX events_tenant_category;
DROP INDEX events_tenant_action;
