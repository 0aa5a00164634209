-- The log lake's manifest: every object (log file) ingested into the lake,
-- identified by its source and the SHA-256 of its stored bytes, so that
-- ingesting the same file again (under any path) adds nothing. Objects whose
-- records all went to the quarantine are recorded too: they were processed.
CREATE TABLE lake_objects (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    records     INTEGER NOT NULL,
    quarantined INTEGER NOT NULL,
    batch       TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    UNIQUE (source, sha256)
);
CREATE INDEX lake_objects_key ON lake_objects (source, object_key);
