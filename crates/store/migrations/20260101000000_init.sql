-- Palisade store: scan runs and the finding lifecycle.
--
-- Timestamps are RFC 3339 text in UTC with a fixed width
-- (`2026-01-02T03:04:05.000000Z`), so text comparison is time order.
-- Booleans are BOOLEAN (0/1 in SQLite). The only SQLite-specific
-- construct is `INTEGER PRIMARY KEY` for generated ids; a PostgreSQL
-- migration would use `BIGINT GENERATED ALWAYS AS IDENTITY`.

CREATE TABLE scan_runs (
    id                  INTEGER PRIMARY KEY,
    engine              TEXT    NOT NULL,
    scope               TEXT    NOT NULL,
    started_at          TEXT    NOT NULL,
    finished_at         TEXT    NOT NULL,
    complete            BOOLEAN NOT NULL,
    inputs_scanned      BIGINT  NOT NULL DEFAULT 0,
    findings_total      BIGINT  NOT NULL DEFAULT 0,
    findings_new        BIGINT  NOT NULL DEFAULT 0,
    findings_reopened   BIGINT  NOT NULL DEFAULT 0,
    findings_resolved   BIGINT  NOT NULL DEFAULT 0,
    findings_suppressed BIGINT  NOT NULL DEFAULT 0,
    error_count         BIGINT  NOT NULL DEFAULT 0,
    -- JSON array of palisade_core::ScanError
    errors              TEXT    NOT NULL DEFAULT '[]'
);

CREATE INDEX scan_runs_engine_scope ON scan_runs (engine, scope, started_at);

-- A finding is identified by its fingerprint within one engine and scope:
-- the same rule on the same resource path in two scanned repositories is two findings.
CREATE TABLE findings (
    id                     INTEGER PRIMARY KEY,
    fingerprint            TEXT    NOT NULL,
    rule_id                TEXT    NOT NULL,
    severity               TEXT    NOT NULL
        CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    -- 0 = info ... 4 = critical, for `min_severity` filters and ordering
    severity_rank          INTEGER NOT NULL,
    category               TEXT    NOT NULL,
    engine                 TEXT    NOT NULL,
    scope                  TEXT    NOT NULL,
    resource_kind          TEXT    NOT NULL,
    resource_id            TEXT    NOT NULL,
    file_path              TEXT,
    status                 TEXT    NOT NULL
        CHECK (status IN ('open', 'reopened', 'resolved', 'suppressed')),
    first_seen             TEXT    NOT NULL,
    last_seen              TEXT    NOT NULL,
    resolved_at            TEXT,
    -- when the finding last came back (from resolved, or an expired suppression)
    reopened_at            TEXT,
    -- SLA days applied at the last sighting (NULL: no SLA for this severity)
    sla_days               INTEGER,
    sla_due_at             TEXT,
    last_run_id            BIGINT  NOT NULL REFERENCES scan_runs (id),
    suppression_reason     TEXT,
    -- `inline:<source>` for suppressions written next to the code
    suppression_author     TEXT,
    suppression_created_at TEXT,
    suppression_expires_at TEXT,
    -- the full palisade_core::Finding as JSON, refreshed at every sighting
    finding                TEXT    NOT NULL,
    UNIQUE (engine, scope, fingerprint)
);

CREATE INDEX findings_fingerprint ON findings (fingerprint);

CREATE INDEX findings_engine_scope ON findings (engine, scope, status);
CREATE INDEX findings_status_severity ON findings (status, severity_rank);
CREATE INDEX findings_rule ON findings (rule_id);
CREATE INDEX findings_resource ON findings (resource_kind, resource_id);
CREATE INDEX findings_file ON findings (file_path);
CREATE INDEX findings_sla_due ON findings (sla_due_at);
CREATE INDEX findings_suppression_expiry ON findings (suppression_expires_at);
CREATE INDEX findings_last_run ON findings (last_run_id);

-- Every status change of a finding, oldest first.
CREATE TABLE finding_events (
    id          INTEGER PRIMARY KEY,
    finding_id  INTEGER NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    at          TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    run_id      BIGINT  REFERENCES scan_runs (id),
    actor       TEXT,
    note        TEXT
);

CREATE INDEX finding_events_finding ON finding_events (finding_id, id);
