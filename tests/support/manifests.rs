//! Manifests the tests apply, built one way, and the simulator's route names
//! the tests count requests by.

use serde_json::{Value, json};

/// A Microtenant `name` for the domain `<name>.example.com`, its admin
/// credentials going to the Secret `<name>-admin`.
pub fn microtenant(name: &str) -> Value {
    json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
        "metadata": {"name": name},
        "spec": {"description": format!("team {name}"), "enabled": true,
                 "criteriaAttributeValues": [format!("{name}.example.com")],
                 "adminCredentialsSecretRef": {"name": format!("{name}-admin")}}
    })
}

/// An IsolationProfile `name` in Frankfurt and London.
pub fn profile(name: &str) -> Value {
    json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "metadata": {"name": name},
        "spec": {"description": "isolate", "regions": ["Frankfurt", "London"],
                 "securityControls": {"copyPaste": "none", "uploadDownload": "upstream"}}
    })
}

/// `manifest` with the keys of `spec` set in its spec (a `null` removes one).
pub fn with_spec(mut manifest: Value, spec: Value) -> Value {
    if let (Some(target), Value::Object(extra)) = (manifest["spec"].as_object_mut(), spec) {
        for (key, value) in extra {
            if value.is_null() {
                target.remove(&key);
            } else {
                target.insert(key, value);
            }
        }
    }
    manifest
}

/// `manifest` in `namespace`.
pub fn in_namespace(mut manifest: Value, namespace: &str) -> Value {
    manifest["metadata"]["namespace"] = json!(namespace);
    manifest
}

/// The simulator's route names, as its request statistics count them.
pub mod routes {
    pub const SIGNIN: &str = "POST /signin";
    pub const POST_MICROTENANTS: &str = "POST /mgmtconfig/v1/admin/customers/{customerId}/microtenants";
    pub const POST_PROFILES: &str = "POST /cbiconfig/cbi/api/customers/{customerId}/profiles";
    pub const PUT_PROFILE: &str = "PUT /cbiconfig/cbi/api/customers/{customerId}/profiles/{profileId}";
}

/// A `ZpaProviderConfig` named `default` for the simulator at `base_url`,
/// and its credentials Secret, as YAML (for the CLI's `-f`).
pub fn provider_config_yaml(base_url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: zpa-system}}\n\
         stringData: {{clientId: sim-client, clientSecret: sim-secret}}\n---\n\
         apiVersion: zpa.operator.dev/v1alpha1\nkind: ZpaProviderConfig\nmetadata: {{name: default}}\n\
         spec: {{baseUrl: \"{base_url}\", customerId: \"72057594037927936\", auth: legacy,\n\
         \x20 credentialsSecretRef: {{namespace: zpa-system, name: creds}}}}\n"
    )
}
