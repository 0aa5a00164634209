-- Commits a secrets history scan has read, per repository scope, so the next
-- run reads only new commits. One row per scope: a newline-separated list of
-- hex commit ids, read and written whole (a 100,000-commit history is ~4 MB,
-- far cheaper as one value than as 100,000 rows).
CREATE TABLE git_scanned_commits (
    scope      TEXT PRIMARY KEY,
    commits    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
