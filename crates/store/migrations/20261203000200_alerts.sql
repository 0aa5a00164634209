-- Detection alerts: one row per rule and entity and burst of activity.
-- A run of `detect run` or `logs ingest --detect` merges its matches into an
-- alert of the same rule and entity whose time range lies within the dedup
-- window, instead of adding a new one. `event_ids` is a JSON array of up to
-- 1000 distinct matched event ids; `count` counts distinct events (or, for
-- correlation and SQL alerts, the events of their windows).
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    rule        TEXT NOT NULL,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    source      TEXT,
    entity      TEXT NOT NULL,
    first_time  TEXT NOT NULL,
    last_time   TEXT NOT NULL,
    count       INTEGER NOT NULL,
    event_ids   TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    acked_by    TEXT,
    acked_at    TEXT,
    ack_note    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX alerts_rule_entity ON alerts (rule, entity, last_time);
CREATE INDEX alerts_status ON alerts (status, last_time);

-- Webhook deliveries that failed after every retry (dead letters), and the
-- delivered ones, for the record. `target` is the webhook's scheme and host
-- only: webhook URLs carry secrets.
CREATE TABLE alert_deliveries (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    delivered   INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX alert_deliveries_dead ON alert_deliveries (delivered, created_at);
