-- What operators read about each item and type: an item's version and authors (its crate's
-- Cargo.toml unless the attribute gives them; authors separated by ':', as Cargo's
-- CARGO_PKG_AUTHORS), its homepage, whether it is hidden from listings; a type's contract
-- version. A row from before this migration has version '' (none recorded: the next sync
-- records it without reporting a change), no authors or homepage, is shown, and has
-- contract version 1 (every contract was version 1 before versions existed).
ALTER TABLE plugin_items ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE plugin_items ADD COLUMN authors TEXT NOT NULL DEFAULT '';
ALTER TABLE plugin_items ADD COLUMN homepage TEXT NULL;
ALTER TABLE plugin_items ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE plugin_types ADD COLUMN contract_version INTEGER NOT NULL DEFAULT 1;
