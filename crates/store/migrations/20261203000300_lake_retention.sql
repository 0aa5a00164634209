-- What `palisade logs retention` deleted from the log lake: one row per
-- expired `dt` partition, kept after the data is gone (the seeds' data-expiry
-- requirement asks for a record of what was deleted and when).
CREATE TABLE lake_expired_partitions (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    day         TEXT NOT NULL,
    files       INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    -- The retention in days the partition was past.
    retention_days INTEGER NOT NULL,
    deleted_at  TEXT NOT NULL
);
CREATE INDEX lake_expired_partitions_source ON lake_expired_partitions (source, day);
