DROP INDEX plugin_audit_instance;
