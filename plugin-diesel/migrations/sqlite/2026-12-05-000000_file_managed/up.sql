-- Instances a declared file manages (`plugins apply FILE`) carry that file's name: the admin
-- and the CLI show them read-only until an operator releases them, and `apply --prune`
-- deletes only those its file no longer lists. NULL: managed by hand (every row from before).
ALTER TABLE plugin_instances ADD COLUMN managed_by TEXT NULL;
