-- What operators read about each item and type: an item's version and authors (its crate's
-- Cargo.toml unless the attribute gives them; authors separated by ':', as Cargo's
-- CARGO_PKG_AUTHORS), its homepage, whether it is hidden from listings; a type's contract
-- version. A row from before this migration has version '' (none recorded: the next sync
-- records it without reporting a change), no authors or homepage, is shown, and has
-- contract version 1 (every contract was version 1 before versions existed).
--
-- `version` and `authors` are TEXT without a default (MySQL before 8.0.13 refuses one, as
-- the first migration says): ADD COLUMN gives the rows already there '', and the store
-- always writes both.
--
-- MySQL's DDL is not transactional: each table's columns are added by one statement, run
-- only when they are missing (MySQL has no ADD COLUMN IF NOT EXISTS), so a start killed
-- between the two runs this again without failing.
SET @plugin_items_metadata_exists = (
    SELECT COUNT(*) FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name = 'plugin_items'
        AND column_name = 'version'
);
SET @plugin_items_metadata_ddl = IF(
    @plugin_items_metadata_exists = 0,
    'ALTER TABLE plugin_items
        ADD COLUMN version  TEXT    NOT NULL,
        ADD COLUMN authors  TEXT    NOT NULL,
        ADD COLUMN homepage TEXT    NULL,
        ADD COLUMN hidden   BOOLEAN NOT NULL DEFAULT FALSE',
    'DO 0'
);
PREPARE plugin_items_metadata_stmt FROM @plugin_items_metadata_ddl;
EXECUTE plugin_items_metadata_stmt;
DEALLOCATE PREPARE plugin_items_metadata_stmt;

SET @plugin_types_version_exists = (
    SELECT COUNT(*) FROM information_schema.columns
    WHERE table_schema = DATABASE() AND table_name = 'plugin_types'
        AND column_name = 'contract_version'
);
SET @plugin_types_version_ddl = IF(
    @plugin_types_version_exists = 0,
    'ALTER TABLE plugin_types ADD COLUMN contract_version INTEGER NOT NULL DEFAULT 1',
    'DO 0'
);
PREPARE plugin_types_version_stmt FROM @plugin_types_version_ddl;
EXECUTE plugin_types_version_stmt;
DEALLOCATE PREPARE plugin_types_version_stmt;
