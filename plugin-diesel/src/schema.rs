//! The tables, as diesel sees them (identical in meaning on every backend).

diesel::table! {
    plugin_types (id) {
        id -> Text,
        namespace -> Text,
        name -> Text,
        description -> Text,
        rust_path -> Text,
        fingerprint -> Text,
        parent_id -> Nullable<Text>,
        orphaned -> Bool,
        contract_version -> Integer,
    }
}

diesel::table! {
    plugin_items (id) {
        id -> Text,
        type_id -> Text,
        name -> Text,
        module -> Text,
        description -> Text,
        category -> Nullable<Text>,
        configurable -> Bool,
        priority -> Integer,
        orphaned -> Bool,
        version -> Text,
        authors -> Text,
        homepage -> Nullable<Text>,
        hidden -> Bool,
    }
}

diesel::table! {
    plugin_instances (id) {
        id -> Text,
        item_id -> Text,
        name -> Text,
        scope -> Text,
        config -> Nullable<Binary>,
        status -> Text,
        priority -> Integer,
        description -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        managed_by -> Nullable<Text>,
    }
}

diesel::table! {
    plugin_revision (id) {
        id -> Integer,
        revision -> BigInt,
        changes_from -> BigInt,
    }
}

diesel::table! {
    plugin_changes (revision, instance_id) {
        revision -> BigInt,
        instance_id -> Text,
    }
}

diesel::table! {
    plugin_activations (scope, instance_id) {
        scope -> Text,
        instance_id -> Text,
        active -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    plugin_activation_changes (revision, scope, instance_id) {
        revision -> BigInt,
        scope -> Text,
        instance_id -> Text,
    }
}

diesel::table! {
    plugin_audit (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        instance_id -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::joinable!(plugin_items -> plugin_types (type_id));
diesel::joinable!(plugin_instances -> plugin_items (item_id));
diesel::allow_tables_to_appear_in_same_query!(
    plugin_types,
    plugin_items,
    plugin_instances,
    plugin_revision,
    plugin_changes,
    plugin_activations,
    plugin_activation_changes,
    plugin_audit
);
