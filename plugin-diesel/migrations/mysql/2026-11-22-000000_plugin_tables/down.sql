DROP TABLE plugin_audit;
DROP TABLE plugin_revision;
DROP TABLE plugin_instances;
DROP TABLE plugin_items;
DROP TABLE plugin_types;
