-- Per-tenant activation: a tenant's switch of one global instance, on (served to the tenant,
-- also for an item that needs activating per tenant) or off (never served to it). A switch
-- goes with its instance. Its changes are logged beside the instances' (same revisions, same
-- trim), so a process that is behind reads only the switches that changed.
--
-- MySQL's DDL is not transactional: every statement here can run again after a start killed
-- before the migration's row was written.
CREATE TABLE IF NOT EXISTS plugin_activations (
    scope       VARCHAR(200) NOT NULL,
    instance_id VARCHAR(36)  NOT NULL,
    active      BOOLEAN      NOT NULL,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (scope, instance_id),
    KEY plugin_activations_instance (instance_id),
    FOREIGN KEY (instance_id) REFERENCES plugin_instances (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS plugin_activation_changes (
    revision    BIGINT       NOT NULL,
    scope       VARCHAR(200) NOT NULL,
    instance_id VARCHAR(36)  NOT NULL,
    PRIMARY KEY (revision, scope, instance_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
