-- Per-tenant activation: a tenant's switch of one global instance, on (served to the tenant,
-- also for an item that needs activating per tenant) or off (never served to it). A switch
-- goes with its instance. Its changes are logged beside the instances' (same revisions, same
-- trim), so a process that is behind reads only the switches that changed.
CREATE TABLE plugin_activations (
    scope       TEXT    NOT NULL,
    instance_id TEXT    NOT NULL REFERENCES plugin_instances (id) ON DELETE CASCADE,
    active      BOOLEAN NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (scope, instance_id)
) WITHOUT ROWID;
CREATE INDEX plugin_activations_instance ON plugin_activations (instance_id);

CREATE TABLE plugin_activation_changes (
    revision    BIGINT NOT NULL,
    scope       TEXT   NOT NULL,
    instance_id TEXT   NOT NULL,
    PRIMARY KEY (revision, scope, instance_id)
) WITHOUT ROWID;
