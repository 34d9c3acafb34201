ALTER TABLE plugin_instances DROP COLUMN managed_by;
