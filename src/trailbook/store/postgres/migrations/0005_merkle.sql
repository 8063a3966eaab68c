-- Trailbook PostgreSQL schema, version 5: the Merkle tree of each tenant's chain
-- (RFC 6962/9162; trailbook/integrity/merkle_store.py). Leaf i is the event with seq
-- i + 1. Only nodes from level 8 up are kept (one per 256 events), written with the
-- events; lower ones are recomputed from the events when a proof needs them.
-- Checkpoints now also sign the tree's size (their seq) and root.

CREATE TABLE merkle_nodes (
    tenant_id  integer NOT NULL REFERENCES tenants (id),
    level      smallint NOT NULL,
    idx        bigint NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (tenant_id, level, idx)
);

CREATE TRIGGER merkle_nodes_append_only
    BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION trailbook_refuse_history_change();
CREATE TRIGGER merkle_nodes_no_truncate
    BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION trailbook_refuse_history_change();

-- NULL for checkpoints signed before the tree existed (their signature covers only
-- the chain head).
ALTER TABLE checkpoints ADD COLUMN tree_root bytea;
