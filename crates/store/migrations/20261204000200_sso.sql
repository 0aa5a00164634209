-- Single sign-on (OpenID Connect) and break-glass accounts.

-- Users created or linked by SSO, found by (issuer, subject): the identity
-- provider's stable id of the person, never their e-mail address, which
-- can be reassigned or changed.
CREATE TABLE sso_identities (
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    last_login_at TEXT,
    PRIMARY KEY (issuer, subject)
);

-- Sign-ins in progress: the browser holds a random flow id in a cookie, the
-- table its hash with the state, nonce and PKCE verifier sent to the
-- provider. A row is used once (deleted when the provider sends the browser back).
CREATE TABLE sso_flows (
    flow_hash     TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);

-- Accounts that may still sign in with a passphrase under `serve --sso-only`.
CREATE TABLE break_glass_accounts (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL
);
