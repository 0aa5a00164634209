-- The cloud inventory: every collection of an account, the assets it saw,
-- and each asset's JSON snapshot (stored once per distinct content).
CREATE TABLE asset_collections (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT NOT NULL,
    regions      TEXT NOT NULL,   -- comma-separated, as collected
    collected_at TEXT NOT NULL,
    assets       INTEGER NOT NULL,
    gaps         INTEGER NOT NULL -- calls that failed: parts not collected
);
CREATE INDEX asset_collections_account ON asset_collections (account, id);

CREATE TABLE asset_snapshots (
    hash     TEXT PRIMARY KEY,  -- hex SHA-256 of the snapshot JSON
    snapshot TEXT NOT NULL
);

-- The latest state of every asset ever seen.
CREATE TABLE assets (
    account         TEXT NOT NULL,
    region          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    asset_id        TEXT NOT NULL,
    tags            TEXT NOT NULL,  -- JSON object
    snapshot_hash   TEXT NOT NULL REFERENCES asset_snapshots (hash),
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    last_collection INTEGER NOT NULL REFERENCES asset_collections (id),
    PRIMARY KEY (account, region, kind, asset_id)
);

-- What each collection saw, for diffs between any two collections.
CREATE TABLE asset_collection_members (
    collection_id INTEGER NOT NULL REFERENCES asset_collections (id) ON DELETE CASCADE,
    region        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    asset_id      TEXT NOT NULL,
    snapshot_hash TEXT NOT NULL,
    PRIMARY KEY (collection_id, region, kind, asset_id)
);
