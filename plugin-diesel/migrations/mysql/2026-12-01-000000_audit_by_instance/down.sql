DROP INDEX plugin_audit_instance ON plugin_audit;
