-- WebAuthn security keys and passkeys, a second factor next to TOTP.

-- A user's random WebAuthn user handle (16 bytes, hex): what authenticators
-- store instead of the account name or id.
CREATE TABLE webauthn_user_handles (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  TEXT    NOT NULL UNIQUE
);

-- Registered keys. `credential` is webauthn-rs's serialised Passkey (the
-- credential id, public key and signature counter): public data, no secret.
-- `credential_id` (base64url) is unique across all accounts.
CREATE TABLE webauthn_credentials (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    credential_id TEXT    NOT NULL UNIQUE,
    credential    TEXT    NOT NULL,
    sign_count    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- A registration or sign-in ceremony in progress: the server-side state
-- (challenge) of webauthn-rs, keyed by the hash of the session or
-- pre-session id that started it. Each is used at most once.
CREATE TABLE webauthn_ceremonies (
    owner_hash TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('register', 'authenticate')),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    key_name   TEXT,
    expires_at TEXT    NOT NULL,
    PRIMARY KEY (owner_hash, kind)
);
