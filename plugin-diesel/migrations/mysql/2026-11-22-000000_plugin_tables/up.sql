-- plugin-system tables (MySQL, MariaDB). Same meaning as the SQLite and PostgreSQL sets: ids
-- are UUID text; times are Unix milliseconds; `scope` is '' for global instances so
-- unique(item_id, scope, name) holds for them too (NULLs are distinct in unique keys).
-- utf8mb4_bin: names compare byte for byte, as on the other backends (the default collation
-- would make "Stripe" and "stripe" the same name). TEXT columns have no defaults (MySQL
-- before 8.0.13 refuses them); the store always writes them.
-- Every statement may run again: MySQL commits each DDL statement on its own, so a start
-- killed half-way leaves some tables and no migration row, and the next start runs this
-- file again from the top (IF NOT EXISTS, INSERT IGNORE: it completes what is missing).

CREATE TABLE IF NOT EXISTS plugin_types (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    namespace   VARCHAR(200) NOT NULL,
    name        VARCHAR(200) NOT NULL,
    description TEXT         NOT NULL,
    rust_path   TEXT         NOT NULL,
    fingerprint VARCHAR(64)  NOT NULL DEFAULT '',
    parent_id   VARCHAR(36)  NULL,
    orphaned    BOOLEAN      NOT NULL DEFAULT FALSE,
    UNIQUE KEY plugin_types_key (namespace, name),
    FOREIGN KEY (parent_id) REFERENCES plugin_types (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS plugin_items (
    id           VARCHAR(36)  NOT NULL PRIMARY KEY,
    type_id      VARCHAR(36)  NOT NULL,
    name         VARCHAR(200) NOT NULL,
    module       TEXT         NOT NULL,
    description  TEXT         NOT NULL,
    category     VARCHAR(200) NULL,
    configurable BOOLEAN      NOT NULL,
    priority     INTEGER      NOT NULL,
    orphaned     BOOLEAN      NOT NULL DEFAULT FALSE,
    UNIQUE KEY plugin_items_key (type_id, name),
    FOREIGN KEY (type_id) REFERENCES plugin_types (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS plugin_instances (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    item_id     VARCHAR(36)  NOT NULL,
    name        VARCHAR(200) NOT NULL,
    scope       VARCHAR(200) NOT NULL DEFAULT '',
    config      MEDIUMBLOB   NULL,
    status      VARCHAR(16)  NOT NULL,
    priority    INTEGER      NOT NULL,
    description TEXT         NOT NULL,
    version     BIGINT       NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    UNIQUE KEY plugin_instances_key (item_id, scope, name),
    KEY plugin_instances_selection (item_id, status, priority),
    FOREIGN KEY (item_id) REFERENCES plugin_items (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS plugin_revision (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    revision BIGINT  NOT NULL
) ENGINE = InnoDB;
INSERT IGNORE INTO plugin_revision (id, revision) VALUES (1, 0);

CREATE TABLE IF NOT EXISTS plugin_audit (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at          BIGINT      NOT NULL,
    actor       TEXT        NOT NULL,
    action      VARCHAR(32) NOT NULL,
    instance_id VARCHAR(36) NULL,
    detail      TEXT        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
