-- Instances a declared file manages (`plugins apply FILE`) carry that file's name: the admin
-- and the CLI show them read-only until an operator releases them, and `apply --prune`
-- deletes only those its file no longer lists. NULL: managed by hand (every row from before).
-- MySQL commits DDL at once, so a migration killed after this statement runs it again:
-- it adds the column only when missing.
SET @plugin_instances_managed_exists = (
    SELECT COUNT(*) FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name = 'plugin_instances'
        AND column_name = 'managed_by'
);
SET @plugin_instances_managed_ddl = IF(
    @plugin_instances_managed_exists = 0,
    'ALTER TABLE plugin_instances ADD COLUMN managed_by TEXT NULL',
    'DO 0'
);
PREPARE plugin_instances_managed_stmt FROM @plugin_instances_managed_ddl;
EXECUTE plugin_instances_managed_stmt;
DEALLOCATE PREPARE plugin_instances_managed_stmt;
