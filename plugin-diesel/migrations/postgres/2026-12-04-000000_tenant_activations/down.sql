DROP TABLE plugin_activation_changes;
DROP TABLE plugin_activations;
