ALTER TABLE plugin_revision DROP COLUMN changes_from;
DROP TABLE plugin_changes;
