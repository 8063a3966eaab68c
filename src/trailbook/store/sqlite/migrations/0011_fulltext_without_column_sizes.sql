-- Trailbook SQLite schema, version 11: the full-text index without column sizes.
--
-- FTS5 keeps, per event, the number of tokens in each column, for ranking by
-- relevance. Trailbook orders by time and never ranks, so that record was written for
-- nothing on every append: counted with callgrind over 20,000 demo events, the index
-- costs 9.5% fewer instructions without it (docs/benchmarks.md), and it is smaller.
-- The option cannot be changed on an existing index, and the index is contentless,
-- so it is made anew here and filled from the stored events by the migration's
-- Python step (trailbook/store/sqlite/fulltext.py), in the same transaction.

DROP TABLE events_fts;
CREATE VIRTUAL TABLE events_fts USING fts5 (
    body, actor, target, keys,
    content = '',
    columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);
INSERT INTO events_fts (events_fts, rank) VALUES ('crisismerge', 64);
INSERT INTO events_fts (events_fts, rank) VALUES ('hashsize', 67108864);
