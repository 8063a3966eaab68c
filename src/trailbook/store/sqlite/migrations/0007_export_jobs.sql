-- Trailbook SQLite schema, version 7: background export jobs. An export that matches
-- more rows than export_background_rows is written to a file by the server while the
-- caller polls its progress, and downloaded when it is done. Jobs are the caller's own
-- and expire with their files; they are not history (the export itself is audited).

CREATE TABLE export_jobs (
    id          TEXT PRIMARY KEY,              -- the export's id (its manifest's too)
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    owner       TEXT NOT NULL,                 -- 'user:<id>' or 'key:<id>'
    format      TEXT NOT NULL,
    query       TEXT,                          -- the query language text, if any
    filter      TEXT NOT NULL,                 -- JSON: the filter as asked
    tz          TEXT NOT NULL,
    state       TEXT NOT NULL,                 -- queued, running, done, failed, cancelled
    total       INTEGER,                       -- rows expected, when counted in time
    rows        INTEGER NOT NULL DEFAULT 0,    -- rows written so far
    bytes       INTEGER NOT NULL DEFAULT 0,
    filename    TEXT NOT NULL,                 -- what the download is called
    path        TEXT NOT NULL,                 -- the file on the server
    sha256      TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    expires_us  INTEGER NOT NULL,              -- the file and the job go after this
    -- When the process running it last said it was alive: a job unfinished and
    -- silent for long was left by a stopped process.
    alive_us    INTEGER NOT NULL
);
CREATE INDEX export_jobs_owner ON export_jobs (tenant_id, owner, created_at);
CREATE INDEX export_jobs_expiry ON export_jobs (expires_us);
CREATE INDEX export_jobs_state ON export_jobs (state, alive_us);
