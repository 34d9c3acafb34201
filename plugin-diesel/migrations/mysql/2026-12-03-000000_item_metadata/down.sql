ALTER TABLE plugin_types DROP COLUMN contract_version;
ALTER TABLE plugin_items
    DROP COLUMN hidden,
    DROP COLUMN homepage,
    DROP COLUMN authors,
    DROP COLUMN version;
