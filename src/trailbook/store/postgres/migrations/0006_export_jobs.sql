-- Trailbook PostgreSQL schema, version 6: background export jobs. An export that matches
-- more rows than export_background_rows is written to a file by the server while the
-- caller polls its progress, and downloaded when it is done. Jobs are the caller's own
-- and expire with their files; they are not history (the export itself is audited).

CREATE TABLE export_jobs (
    id          text PRIMARY KEY,              -- the export's id (its manifest's too)
    tenant_id   integer NOT NULL REFERENCES tenants (id),
    owner       text NOT NULL,                 -- 'user:<id>' or 'key:<id>'
    format      text NOT NULL,
    query       text,                          -- the query language text, if any
    filter      text NOT NULL,                 -- JSON: the filter as asked
    tz          text NOT NULL,
    state       text NOT NULL,                 -- queued, running, done, failed, cancelled
    total       bigint,                       -- rows expected, when counted in time
    rows        bigint NOT NULL DEFAULT 0,    -- rows written so far
    bytes       bigint NOT NULL DEFAULT 0,
    filename    text NOT NULL,                 -- what the download is called
    path        text NOT NULL,                 -- the file on the server
    sha256      text,
    error       text,
    created_at  text NOT NULL,
    started_at  text,
    finished_at text,
    expires_us  bigint NOT NULL,              -- the file and the job go after this
    -- When the process running it last said it was alive: a job unfinished and
    -- silent for long was left by a stopped process.
    alive_us    bigint NOT NULL
);
CREATE INDEX export_jobs_owner ON export_jobs (tenant_id, owner, created_at);
CREATE INDEX export_jobs_expiry ON export_jobs (expires_us);
CREATE INDEX export_jobs_state ON export_jobs (state, alive_us);
