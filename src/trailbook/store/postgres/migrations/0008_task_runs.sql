-- Trailbook PostgreSQL schema, version 8: scheduled tasks. A serving process runs a
-- shared task (partitions, health check, …) for a period only after it has claimed the
-- row (name, period_start) here: the INSERT that adds it does nothing when another
-- process claimed it first, so each task runs once per period however many processes
-- serve the database. The row then records how the run went; old rows are pruned.

CREATE TABLE task_runs (
    name         text NOT NULL,                -- the task, e.g. 'health', 'partitions'
    period_start bigint NOT NULL,              -- µs since the epoch, a multiple of the period
    holder       text NOT NULL,                -- the process that claimed it
    claimed_us   bigint NOT NULL,
    finished_us  bigint,                       -- NULL while it runs (or if it never ended)
    ok           smallint,                     -- 1 done, 0 failed, NULL not finished
    summary      text,                         -- JSON: what the run did or why it failed
    PRIMARY KEY (name, period_start)
);
CREATE INDEX task_runs_claimed ON task_runs (claimed_us);
