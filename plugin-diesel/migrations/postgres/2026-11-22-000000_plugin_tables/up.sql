-- plugin-system tables (PostgreSQL). Same meaning as the SQLite and MySQL sets: ids are UUID
-- text; times are Unix milliseconds; `scope` is '' for global instances so
-- unique(item_id, scope, name) holds for them too (NULLs are distinct in unique keys).

CREATE TABLE plugin_types (
    id          VARCHAR(36)  PRIMARY KEY,
    namespace   VARCHAR(200) NOT NULL,
    name        VARCHAR(200) NOT NULL,
    description TEXT         NOT NULL DEFAULT '',
    rust_path   TEXT         NOT NULL DEFAULT '',
    fingerprint VARCHAR(64)  NOT NULL DEFAULT '',
    parent_id   VARCHAR(36)  NULL REFERENCES plugin_types (id) ON DELETE SET NULL,
    orphaned    BOOLEAN      NOT NULL DEFAULT FALSE,
    UNIQUE (namespace, name)
);

CREATE TABLE plugin_items (
    id           VARCHAR(36)  PRIMARY KEY,
    type_id      VARCHAR(36)  NOT NULL REFERENCES plugin_types (id) ON DELETE CASCADE,
    name         VARCHAR(200) NOT NULL,
    module       TEXT         NOT NULL DEFAULT '',
    description  TEXT         NOT NULL DEFAULT '',
    category     VARCHAR(200) NULL,
    configurable BOOLEAN      NOT NULL,
    priority     INTEGER      NOT NULL,
    orphaned     BOOLEAN      NOT NULL DEFAULT FALSE,
    UNIQUE (type_id, name)
);

CREATE TABLE plugin_instances (
    id          VARCHAR(36)  PRIMARY KEY,
    item_id     VARCHAR(36)  NOT NULL REFERENCES plugin_items (id) ON DELETE CASCADE,
    name        VARCHAR(200) NOT NULL,
    scope       VARCHAR(200) NOT NULL DEFAULT '',
    config      BYTEA        NULL,
    status      VARCHAR(16)  NOT NULL,
    priority    INTEGER      NOT NULL,
    description TEXT         NOT NULL DEFAULT '',
    version     BIGINT       NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    UNIQUE (item_id, scope, name)
);

CREATE INDEX plugin_instances_selection ON plugin_instances (item_id, status, priority);

CREATE TABLE plugin_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT  NOT NULL
);
INSERT INTO plugin_revision (id, revision) VALUES (1, 0);

CREATE TABLE plugin_audit (
    id          BIGSERIAL   PRIMARY KEY,
    at          BIGINT      NOT NULL,
    actor       TEXT        NOT NULL,
    action      VARCHAR(32) NOT NULL,
    instance_id VARCHAR(36) NULL,
    detail      TEXT        NOT NULL
);
