-- The change log: the instances each revision changed, so a process that is behind reads only
-- those rows (Store::changes_since) instead of every instance. The store keeps the last 10,000
-- revisions; `changes_from` is the oldest revision it answers for (moved on by that trim and
-- by a write too large to list).
CREATE TABLE plugin_changes (
    revision    BIGINT      NOT NULL,
    instance_id VARCHAR(36) NOT NULL,
    PRIMARY KEY (revision, instance_id)
);

ALTER TABLE plugin_revision ADD COLUMN changes_from BIGINT NOT NULL DEFAULT 0;
-- In a database upgraded from before the log, it starts now: older revisions reload everything.
UPDATE plugin_revision SET changes_from = revision;
