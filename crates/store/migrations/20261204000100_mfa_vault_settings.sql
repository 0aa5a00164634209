-- Second factors, envelope-encryption data keys and console settings.

-- Data keys of the vault (crates/vault): each is random, and stored only
-- wrapped (AES-256-GCM) by the master key whose id is kept next to it.
CREATE TABLE vault_data_keys (
    id            TEXT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    wrapped       TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- A user's TOTP authenticator. The seed is sealed by the vault, never stored
-- in clear. `confirmed_at` NULL: enrolment started, no code confirmed yet.
CREATE TABLE user_totp (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_seed  TEXT    NOT NULL,
    confirmed_at TEXT,
    -- the last accepted RFC 6238 time step; codes of this step or older are refused
    last_step    INTEGER NOT NULL DEFAULT -1,
    created_at   TEXT    NOT NULL
);

-- One-time recovery codes, as the hex SHA-256 of a 80-bit random code.
CREATE TABLE mfa_recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   TEXT
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id);

-- Half-authenticated pre-sessions: the passphrase was right, the second
-- factor is still due ('verify') or must first be set up ('enrol').
CREATE TABLE mfa_pending (
    id_hash    TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify', 'enrol')),
    csrf_token TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
);
CREATE INDEX mfa_pending_user ON mfa_pending (user_id);

-- Console settings changed by administrators (JSON values).
CREATE TABLE console_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
