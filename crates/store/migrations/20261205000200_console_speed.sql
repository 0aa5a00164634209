-- The console at 100,000 findings and 16 clients: what its pages read
-- instead of walking findings row by row.

-- Open and reopened findings with an SLA, per severity and exact due time.
-- The dashboard takes the days before today from finding_due_counts and
-- today's part (due between midnight and now) from here: the findings of one
-- scan share their due time, so today is a few rows, not one per finding.
CREATE TABLE finding_due_times (
    due_at        TEXT    NOT NULL,
    severity_rank INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (due_at, severity_rank)
) WITHOUT ROWID;

CREATE TRIGGER finding_due_times_insert AFTER INSERT ON findings
WHEN NEW.status IN ('open', 'reopened') AND NEW.sla_due_at IS NOT NULL
BEGIN
    INSERT INTO finding_due_times (due_at, severity_rank, n)
        VALUES (NEW.sla_due_at, NEW.severity_rank, 1)
        ON CONFLICT (due_at, severity_rank) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER finding_due_times_delete AFTER DELETE ON findings
WHEN OLD.status IN ('open', 'reopened') AND OLD.sla_due_at IS NOT NULL
BEGIN
    UPDATE finding_due_times SET n = n - 1
        WHERE due_at = OLD.sla_due_at AND severity_rank = OLD.severity_rank;
    DELETE FROM finding_due_times
        WHERE due_at = OLD.sla_due_at AND severity_rank = OLD.severity_rank AND n <= 0;
END;

CREATE TRIGGER finding_due_times_update
AFTER UPDATE OF status, severity_rank, sla_due_at ON findings
WHEN OLD.status IS NOT NEW.status OR OLD.severity_rank IS NOT NEW.severity_rank
  OR OLD.sla_due_at IS NOT NEW.sla_due_at
BEGIN
    UPDATE finding_due_times SET n = n - 1
        WHERE OLD.status IN ('open', 'reopened') AND OLD.sla_due_at IS NOT NULL
          AND due_at = OLD.sla_due_at AND severity_rank = OLD.severity_rank;
    DELETE FROM finding_due_times
        WHERE due_at = OLD.sla_due_at AND severity_rank = OLD.severity_rank AND n <= 0;
    INSERT INTO finding_due_times (due_at, severity_rank, n)
        SELECT NEW.sla_due_at, NEW.severity_rank, 1
        WHERE NEW.status IN ('open', 'reopened') AND NEW.sla_due_at IS NOT NULL
        ON CONFLICT (due_at, severity_rank) DO UPDATE SET n = n + 1;
END;

INSERT INTO finding_due_times (due_at, severity_rank, n)
    SELECT sla_due_at, severity_rank, COUNT(*) FROM findings
    WHERE status IN ('open', 'reopened') AND sla_due_at IS NOT NULL
    GROUP BY sla_due_at, severity_rank;

-- Text search of the findings list (`q=`): a substring of the title, rule,
-- location or asset, through trigram tokens instead of a LIKE over every row.
-- The table keeps its own copy of the four texts (the title lives in the
-- finding's JSON); triggers keep it in step with findings.
CREATE VIRTUAL TABLE findings_fts USING fts5 (
    title, rule_id, location, asset,
    tokenize = 'trigram'
);

CREATE TRIGGER findings_fts_insert AFTER INSERT ON findings
BEGIN
    INSERT INTO findings_fts (rowid, title, rule_id, location, asset)
        VALUES (NEW.id, COALESCE(json_extract(NEW.finding, '$.title'), ''), NEW.rule_id,
                COALESCE(NEW.file_path, ''), NEW.resource_kind || ' ' || NEW.resource_id);
END;

CREATE TRIGGER findings_fts_delete AFTER DELETE ON findings
BEGIN
    DELETE FROM findings_fts WHERE rowid = OLD.id;
END;

-- Every sighting rewrites the finding's JSON; only a changed text is reindexed.
CREATE TRIGGER findings_fts_update
AFTER UPDATE OF finding, rule_id, file_path, resource_kind, resource_id ON findings
WHEN OLD.rule_id IS NOT NEW.rule_id OR OLD.file_path IS NOT NEW.file_path
  OR OLD.resource_kind IS NOT NEW.resource_kind OR OLD.resource_id IS NOT NEW.resource_id
  OR json_extract(OLD.finding, '$.title') IS NOT json_extract(NEW.finding, '$.title')
BEGIN
    UPDATE findings_fts SET title = COALESCE(json_extract(NEW.finding, '$.title'), ''),
        rule_id = NEW.rule_id, location = COALESCE(NEW.file_path, ''),
        asset = NEW.resource_kind || ' ' || NEW.resource_id
        WHERE rowid = NEW.id;
END;

INSERT INTO findings_fts (rowid, title, rule_id, location, asset)
    SELECT id, COALESCE(json_extract(finding, '$.title'), ''), rule_id,
           COALESCE(file_path, ''), resource_kind || ' ' || resource_id
    FROM findings;

-- One index per filter the list offers and per sort order, leading with the
-- filtered column and then the sort key, so a filtered page is a range scan
-- that stops after a page (the list names the index it walks: see
-- console.rs). A trailing status lets the actionable filter be tested on the
-- index entry before the row is read.
DROP INDEX findings_console_engine;
CREATE INDEX findings_console_engine ON findings (engine, severity_rank DESC, first_seen, id, status);
DROP INDEX findings_console_category;
CREATE INDEX findings_console_category ON findings (category, severity_rank DESC, first_seen, id, status);
CREATE INDEX findings_console_rule ON findings (rule_id, severity_rank DESC, first_seen, id, status);
CREATE INDEX findings_console_engine_last_seen ON findings (engine, last_seen DESC, id DESC, status, severity_rank);
CREATE INDEX findings_console_category_last_seen ON findings (category, last_seen DESC, id DESC, status, severity_rank);
CREATE INDEX findings_console_rule_last_seen ON findings (rule_id, last_seen DESC, id DESC, status, severity_rank);
CREATE INDEX findings_console_status_last_seen ON findings (status, last_seen DESC, id DESC, severity_rank);
DROP INDEX findings_console_last_seen;
CREATE INDEX findings_console_last_seen ON findings (last_seen DESC, id DESC, status, severity_rank);
DROP INDEX findings_console_severity;
CREATE INDEX findings_console_severity ON findings (severity_rank DESC, first_seen, id, status);

-- Findings per engine, status, severity and category: the exact total of a
-- list filtered by engine (finding_counts has no engine), read instead of
-- counting matches one by one up to the cap.
CREATE TABLE finding_engine_counts (
    engine        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    severity_rank INTEGER NOT NULL,
    category      TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (engine, status, severity_rank, category)
) WITHOUT ROWID;

CREATE TRIGGER finding_engine_counts_insert AFTER INSERT ON findings
BEGIN
    INSERT INTO finding_engine_counts (engine, status, severity_rank, category, n)
        VALUES (NEW.engine, NEW.status, NEW.severity_rank, NEW.category, 1)
        ON CONFLICT (engine, status, severity_rank, category) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER finding_engine_counts_delete AFTER DELETE ON findings
BEGIN
    UPDATE finding_engine_counts SET n = n - 1
        WHERE engine = OLD.engine AND status = OLD.status
          AND severity_rank = OLD.severity_rank AND category = OLD.category;
END;

CREATE TRIGGER finding_engine_counts_update
AFTER UPDATE OF engine, status, severity_rank, category ON findings
WHEN OLD.engine IS NOT NEW.engine OR OLD.status IS NOT NEW.status
  OR OLD.severity_rank IS NOT NEW.severity_rank OR OLD.category IS NOT NEW.category
BEGIN
    UPDATE finding_engine_counts SET n = n - 1
        WHERE engine = OLD.engine AND status = OLD.status
          AND severity_rank = OLD.severity_rank AND category = OLD.category;
    INSERT INTO finding_engine_counts (engine, status, severity_rank, category, n)
        VALUES (NEW.engine, NEW.status, NEW.severity_rank, NEW.category, 1)
        ON CONFLICT (engine, status, severity_rank, category) DO UPDATE SET n = n + 1;
END;

INSERT INTO finding_engine_counts (engine, status, severity_rank, category, n)
    SELECT engine, status, severity_rank, category, COUNT(*) FROM findings
    GROUP BY engine, status, severity_rank, category;
