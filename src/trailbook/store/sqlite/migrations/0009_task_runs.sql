-- Trailbook SQLite schema, version 9: scheduled tasks. A serving process runs a shared
-- task (partitions, health check, …) for a period only after it has claimed the row
-- (name, period_start) here: the INSERT that adds it does nothing when another process
-- claimed it first, so each task runs once per period however many processes serve the
-- database. The row then records how the run went; old rows are pruned.

CREATE TABLE task_runs (
    name         TEXT NOT NULL,                -- the task, e.g. 'health', 'partitions'
    period_start INTEGER NOT NULL,             -- µs since the epoch, a multiple of the period
    holder       TEXT NOT NULL,                -- the process that claimed it
    claimed_us   INTEGER NOT NULL,
    finished_us  INTEGER,                      -- NULL while it runs (or if it never ended)
    ok           INTEGER,                      -- 1 done, 0 failed, NULL not finished
    summary      TEXT,                         -- JSON: what the run did or why it failed
    PRIMARY KEY (name, period_start)
);
CREATE INDEX task_runs_claimed ON task_runs (claimed_us);
