-- Single sign-on configured from the console's settings page (flags of
-- `palisade serve` take precedence), and the ID token of each SSO user's
-- last sign-in, kept for signing out at the provider.

-- One row at most. `config` is JSON of the non-secret fields; the client
-- secret is only stored sealed by the vault (NULL: a public client).
CREATE TABLE sso_settings (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    config               TEXT NOT NULL,
    client_secret_sealed TEXT,
    updated_at           TEXT NOT NULL,
    updated_by           TEXT NOT NULL
);

-- The `id_token_hint` of RP-initiated logout, sealed by the vault.
CREATE TABLE sso_logout_hints (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    id_token_sealed TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);
