-- Counts the web console reads instead of scanning every finding: kept
-- exact by triggers on every write to findings and finding_events, so a
-- dashboard over 100,000 findings reads a few dozen rows.

-- Findings per status, severity and category.
CREATE TABLE finding_counts (
    status        TEXT    NOT NULL,
    severity_rank INTEGER NOT NULL,
    category      TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (status, severity_rank, category)
) WITHOUT ROWID;

-- Open and reopened findings with an SLA, per severity and due day (UTC):
-- every day before today is wholly overdue; only today's are compared by time.
CREATE TABLE finding_due_counts (
    severity_rank INTEGER NOT NULL,
    due_day       TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (severity_rank, due_day)
) WITHOUT ROWID;

-- The net change of open and reopened findings per day (UTC), for the trend.
CREATE TABLE finding_daily_changes (
    day   TEXT    PRIMARY KEY,
    delta INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER finding_counts_insert AFTER INSERT ON findings
BEGIN
    INSERT INTO finding_counts (status, severity_rank, category, n)
        VALUES (NEW.status, NEW.severity_rank, NEW.category, 1)
        ON CONFLICT (status, severity_rank, category) DO UPDATE SET n = n + 1;
    INSERT INTO finding_due_counts (severity_rank, due_day, n)
        SELECT NEW.severity_rank, substr(NEW.sla_due_at, 1, 10), 1
        WHERE NEW.status IN ('open', 'reopened') AND NEW.sla_due_at IS NOT NULL
        ON CONFLICT (severity_rank, due_day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER finding_counts_delete AFTER DELETE ON findings
BEGIN
    UPDATE finding_counts SET n = n - 1
        WHERE status = OLD.status AND severity_rank = OLD.severity_rank
          AND category = OLD.category;
    UPDATE finding_due_counts SET n = n - 1
        WHERE OLD.status IN ('open', 'reopened') AND OLD.sla_due_at IS NOT NULL
          AND severity_rank = OLD.severity_rank AND due_day = substr(OLD.sla_due_at, 1, 10);
END;

CREATE TRIGGER finding_counts_update
AFTER UPDATE OF status, severity_rank, category, sla_due_at ON findings
WHEN OLD.status IS NOT NEW.status OR OLD.severity_rank IS NOT NEW.severity_rank
  OR OLD.category IS NOT NEW.category OR OLD.sla_due_at IS NOT NEW.sla_due_at
BEGIN
    UPDATE finding_counts SET n = n - 1
        WHERE status = OLD.status AND severity_rank = OLD.severity_rank
          AND category = OLD.category;
    INSERT INTO finding_counts (status, severity_rank, category, n)
        VALUES (NEW.status, NEW.severity_rank, NEW.category, 1)
        ON CONFLICT (status, severity_rank, category) DO UPDATE SET n = n + 1;
    UPDATE finding_due_counts SET n = n - 1
        WHERE OLD.status IN ('open', 'reopened') AND OLD.sla_due_at IS NOT NULL
          AND severity_rank = OLD.severity_rank AND due_day = substr(OLD.sla_due_at, 1, 10);
    INSERT INTO finding_due_counts (severity_rank, due_day, n)
        SELECT NEW.severity_rank, substr(NEW.sla_due_at, 1, 10), 1
        WHERE NEW.status IN ('open', 'reopened') AND NEW.sla_due_at IS NOT NULL
        ON CONFLICT (severity_rank, due_day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER finding_daily_changes_insert AFTER INSERT ON finding_events
WHEN (NEW.to_status IN ('open', 'reopened'))
     IS NOT (COALESCE(NEW.from_status IN ('open', 'reopened'), 0))
BEGIN
    INSERT INTO finding_daily_changes (day, delta)
        SELECT substr(NEW.at, 1, 10),
               CASE WHEN NEW.to_status IN ('open', 'reopened') THEN 1 ELSE -1 END
        WHERE true
        ON CONFLICT (day) DO UPDATE SET delta = delta + excluded.delta;
END;

-- What the console's queries need beyond the earlier indexes: today's
-- overdue findings by due time, and the findings of one engine in order.
CREATE INDEX findings_console_due ON findings (status, sla_due_at);
CREATE INDEX findings_console_engine ON findings (engine, severity_rank DESC, first_seen, id);

-- The counts of the findings stored before this migration.
INSERT INTO finding_counts (status, severity_rank, category, n)
    SELECT status, severity_rank, category, COUNT(*) FROM findings
    GROUP BY status, severity_rank, category;
INSERT INTO finding_due_counts (severity_rank, due_day, n)
    SELECT severity_rank, substr(sla_due_at, 1, 10), COUNT(*) FROM findings
    WHERE status IN ('open', 'reopened') AND sla_due_at IS NOT NULL
    GROUP BY severity_rank, substr(sla_due_at, 1, 10);
INSERT INTO finding_daily_changes (day, delta)
    SELECT substr(at, 1, 10), SUM(CASE WHEN to_status IN ('open', 'reopened') THEN 1 ELSE -1 END)
    FROM finding_events
    WHERE (to_status IN ('open', 'reopened'))
          IS NOT (COALESCE(from_status IN ('open', 'reopened'), 0))
    GROUP BY substr(at, 1, 10);
