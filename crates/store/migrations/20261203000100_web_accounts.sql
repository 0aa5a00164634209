-- The web console's accounts, sessions and audit log.
--
-- Secrets are never stored: sessions and one-time links are kept as the
-- hex SHA-256 of a 256-bit random value, passphrases as Argon2id PHC strings.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    -- compared case-insensitively: `Alice` and `alice` are one account
    username            TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role                TEXT    NOT NULL
        CHECK (role IN ('admin', 'analyst', 'viewer', 'auditor')),
    -- NULL until the user has set a passphrase through their enrolment link
    password_hash       TEXT,
    disabled            BOOLEAN NOT NULL DEFAULT 0,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    password_changed_at TEXT,
    last_login_at       TEXT
);

-- Server-side sessions; the browser holds the random id, the table its hash.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the synchronizer token every state-changing form must carry
    csrf_token   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,
    -- the absolute end of the session, whatever its activity
    expires_at   TEXT    NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One-time links to set a passphrase: the first admin's (user_id NULL,
-- creates the account) or one made by `palisade users create`.
CREATE TABLE enrolment_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT
);

-- Failed sign-in counters per account name and per client address, keyed
-- by a hash so the table holds neither names that do not exist nor addresses.
CREATE TABLE login_throttle (
    key_hash     TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TEXT    NOT NULL,
    locked_until TEXT
);

-- Append-only, hash-chained record of security-relevant actions. Each row's
-- hash covers the previous row's hash and this row's content, so editing,
-- deleting or reordering rows breaks the chain (`palisade audit verify`).
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    source_ip TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The console's findings list: keyset pagination in each sort order.
CREATE INDEX findings_console_severity ON findings (severity_rank DESC, first_seen, id);
CREATE INDEX findings_console_status_severity ON findings (status, severity_rank DESC, first_seen, id);
CREATE INDEX findings_console_last_seen ON findings (last_seen DESC, id DESC);
CREATE INDEX findings_console_category ON findings (category, status);
-- The dashboard's trend reads the last days of status changes.
CREATE INDEX finding_events_at ON finding_events (at);
