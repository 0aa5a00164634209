-- API tokens for CI and the CLI. Like sessions, only the hex SHA-256 of the
-- 256-bit random token is stored; the token itself is shown once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    -- the first characters of the token, so a user can tell their tokens apart
    prefix       TEXT    NOT NULL,
    -- space-separated scopes: `read`, `write-findings`
    scopes       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Disabling an account revokes its tokens in the same transaction, whoever
-- disables it (console or CLI).
CREATE TRIGGER api_tokens_revoked_with_user AFTER UPDATE OF disabled ON users
WHEN NEW.disabled AND NOT OLD.disabled
BEGIN
    UPDATE api_tokens SET revoked_at = NEW.updated_at
        WHERE user_id = NEW.id AND revoked_at IS NULL;
END;
