-- The local advisory database (OSV records), for `palisade vulndb` and
-- `palisade scan deps`. One row per record, its JSON as imported; one row
-- per (ecosystem, normalised package name) it names, for lookups at scan
-- time. Incremental imports compare `modified`.
CREATE TABLE vuln_records (
    id          TEXT PRIMARY KEY,
    modified    TEXT NOT NULL,
    withdrawn   INTEGER NOT NULL,
    record      TEXT NOT NULL,
    imported_at TEXT NOT NULL
);

-- The newest record dates the database (the staleness warning).
CREATE INDEX vuln_records_modified ON vuln_records (modified);

CREATE TABLE vuln_packages (
    ecosystem TEXT NOT NULL,
    name      TEXT NOT NULL,
    record_id TEXT NOT NULL REFERENCES vuln_records (id) ON DELETE CASCADE,
    PRIMARY KEY (ecosystem, name, record_id)
) WITHOUT ROWID;

CREATE INDEX vuln_packages_record ON vuln_packages (record_id);

-- Every import run, for `vulndb status` and the staleness warning.
CREATE TABLE vuln_imports (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    read        INTEGER NOT NULL,
    added       INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL
);

-- CISA Known Exploited Vulnerabilities, by CVE id.
CREATE TABLE vuln_kev (
    cve        TEXT PRIMARY KEY,
    date_added TEXT NOT NULL
) WITHOUT ROWID;

-- FIRST EPSS scores, by CVE id.
CREATE TABLE vuln_epss (
    cve        TEXT PRIMARY KEY,
    epss       REAL NOT NULL,
    percentile REAL NOT NULL
) WITHOUT ROWID;
