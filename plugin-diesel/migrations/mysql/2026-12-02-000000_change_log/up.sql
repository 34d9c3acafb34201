-- The change log: the instances each revision changed, so a process that is behind reads only
-- those rows (Store::changes_since) instead of every instance. The store keeps the last 10,000
-- revisions; `changes_from` is the oldest revision it answers for (moved on by that trim and
-- by a write too large to list).
--
-- MySQL's DDL is not transactional: every statement here can run again after a start killed
-- before the migration's row was written.
CREATE TABLE IF NOT EXISTS plugin_changes (
    revision    BIGINT      NOT NULL,
    instance_id VARCHAR(36) NOT NULL,
    PRIMARY KEY (revision, instance_id)
);

-- The column, added only when missing (MySQL has no ADD COLUMN IF NOT EXISTS).
SET @plugin_changes_from_exists = (
    SELECT COUNT(*) FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name = 'plugin_revision'
        AND column_name = 'changes_from'
);
SET @plugin_changes_from_ddl = IF(
    @plugin_changes_from_exists = 0,
    'ALTER TABLE plugin_revision ADD COLUMN changes_from BIGINT NOT NULL DEFAULT 0',
    'DO 0'
);
PREPARE plugin_changes_from_stmt FROM @plugin_changes_from_ddl;
EXECUTE plugin_changes_from_stmt;
DEALLOCATE PREPARE plugin_changes_from_stmt;

-- In a database upgraded from before the log, it starts now: older revisions reload everything.
-- (Run again, it only moves the start later, which is always safe.)
UPDATE plugin_revision SET changes_from = revision;
