-- One instance's history (the admin's per-instance audit page) without scanning the trail.
CREATE INDEX plugin_audit_instance ON plugin_audit (instance_id, id);
