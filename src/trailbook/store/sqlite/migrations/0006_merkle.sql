-- Trailbook SQLite schema, version 6: the Merkle tree of each tenant's chain
-- (RFC 6962/9162; trailbook/integrity/merkle_store.py). Leaf i is the event with seq
-- i + 1. Only nodes from level 8 up are kept (one per 256 events), written with the
-- events; lower ones are recomputed from the events when a proof needs them.
-- Checkpoints now also sign the tree's size (their seq) and root.

CREATE TABLE merkle_nodes (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    level      INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    PRIMARY KEY (tenant_id, level, idx)
) WITHOUT ROWID;

CREATE TRIGGER merkle_nodes_append_only_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'trailbook: the Merkle tree is append-only');
END;
CREATE TRIGGER merkle_nodes_append_only_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'trailbook: the Merkle tree is append-only');
END;

-- NULL for checkpoints signed before the tree existed (their signature covers only
-- the chain head).
ALTER TABLE checkpoints ADD COLUMN tree_root BLOB;
