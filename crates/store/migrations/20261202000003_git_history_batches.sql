-- Commits a secrets history scan has read, per repository scope, so the next
-- run reads only new commits: one row per run that read commits, holding a
-- newline-separated list of hex commit ids. An incremental run appends only
-- its few new commits instead of rewriting the whole list (4 MB for a
-- 100,000-commit history); a scope's rows are read together.
CREATE TABLE git_scanned_commit_batches (
    id       INTEGER PRIMARY KEY,
    scope    TEXT NOT NULL,
    commits  TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX git_scanned_commit_batches_scope ON git_scanned_commit_batches (scope);

INSERT INTO git_scanned_commit_batches (scope, commits, added_at)
    SELECT scope, commits, updated_at FROM git_scanned_commits;
DROP TABLE git_scanned_commits;
