ALTER TABLE plugin_types DROP COLUMN contract_version;
ALTER TABLE plugin_items DROP COLUMN hidden;
ALTER TABLE plugin_items DROP COLUMN homepage;
ALTER TABLE plugin_items DROP COLUMN authors;
ALTER TABLE plugin_items DROP COLUMN version;
