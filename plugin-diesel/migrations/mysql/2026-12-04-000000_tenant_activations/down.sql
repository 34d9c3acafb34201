DROP TABLE IF EXISTS plugin_activation_changes;
DROP TABLE IF EXISTS plugin_activations;
