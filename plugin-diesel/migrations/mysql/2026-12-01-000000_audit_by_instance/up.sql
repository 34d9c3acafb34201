-- One instance's history (the admin's per-instance audit page) without scanning the trail.
-- Created only when missing, so a start killed after it and before its migration row runs
-- this again without failing (MySQL has no CREATE INDEX IF NOT EXISTS; MariaDB's is its own).
SET @plugin_audit_instance_exists = (
    SELECT COUNT(*) FROM information_schema.statistics
    WHERE table_schema = DATABASE() AND table_name = 'plugin_audit'
        AND index_name = 'plugin_audit_instance'
);
SET @plugin_audit_instance_ddl = IF(
    @plugin_audit_instance_exists = 0,
    'CREATE INDEX plugin_audit_instance ON plugin_audit (instance_id, id)',
    'DO 0'
);
PREPARE plugin_audit_instance_stmt FROM @plugin_audit_instance_ddl;
EXECUTE plugin_audit_instance_stmt;
DEALLOCATE PREPARE plugin_audit_instance_stmt;
