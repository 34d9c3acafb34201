-- plugin-system tables (SQLite). Ids are UUID text; times are Unix milliseconds.
-- `scope` is '' for global instances so unique(item_id, scope, name) holds for them too
-- (SQL treats NULLs as distinct in unique keys).

CREATE TABLE plugin_types (
    id          TEXT    PRIMARY KEY NOT NULL,
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    rust_path   TEXT    NOT NULL DEFAULT '',
    fingerprint TEXT    NOT NULL DEFAULT '',
    parent_id   TEXT    NULL REFERENCES plugin_types (id) ON DELETE SET NULL,
    orphaned    BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (namespace, name)
);

CREATE TABLE plugin_items (
    id           TEXT    PRIMARY KEY NOT NULL,
    type_id      TEXT    NOT NULL REFERENCES plugin_types (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    module       TEXT    NOT NULL DEFAULT '',
    description  TEXT    NOT NULL DEFAULT '',
    category     TEXT    NULL,
    configurable BOOLEAN NOT NULL,
    priority     INTEGER NOT NULL,
    orphaned     BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (type_id, name)
);

CREATE TABLE plugin_instances (
    id          TEXT    PRIMARY KEY NOT NULL,
    item_id     TEXT    NOT NULL REFERENCES plugin_items (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    scope       TEXT    NOT NULL DEFAULT '',
    config      BLOB    NULL,
    status      TEXT    NOT NULL,
    priority    INTEGER NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    version     BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (item_id, scope, name)
);

CREATE INDEX plugin_instances_selection ON plugin_instances (item_id, status, priority);

CREATE TABLE plugin_revision (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    revision BIGINT  NOT NULL
);
INSERT INTO plugin_revision (id, revision) VALUES (1, 0);

CREATE TABLE plugin_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    instance_id TEXT    NULL,
    detail      TEXT    NOT NULL
);
