//! Reading a directory of Kubernetes manifests for `plan` and `sync`.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use serde_json::Value;

use crate::crd::{IsolationProfile, Microtenant, ZpaProviderConfig};
use crate::secret::SecretString;

/// The objects `plan` and `sync` act on, and what they read.
#[derive(Debug, Default)]
pub struct Manifests {
    pub provider_configs: Vec<ZpaProviderConfig>,
    pub secrets: Vec<Secret>,
    pub microtenants: Vec<Microtenant>,
    pub profiles: Vec<IsolationProfile>,
    /// Documents of other kinds, described for the user.
    pub ignored: Vec<String>,
}

/// Namespaced objects without one land here, as with `kubectl apply`.
pub const DEFAULT_NAMESPACE: &str = "default";

impl Manifests {
    /// Every `.yaml`/`.yml` file in `dir` (not recursive), in name order.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("no .yaml files in {}", dir.display()));
        }
        let mut manifests = Manifests::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            manifests.add_documents(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        Ok(manifests)
    }

    pub fn add_documents(&mut self, text: &str) -> Result<(), String> {
        for value in serde_saphyr::from_multiple::<Value>(text).map_err(|e| format!("invalid YAML: {e}"))? {
            if value.is_null() {
                continue;
            }
            self.add(value)?;
        }
        Ok(())
    }

    fn add(&mut self, value: Value) -> Result<(), String> {
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
        let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
        let name = value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("(unnamed)").to_owned();
        let invalid = |e: serde_json::Error| format!("{kind} {name:?} is invalid: {e}");
        match (api_version.as_str(), kind.as_str()) {
            ("zpa.operator.dev/v1alpha1", "ZpaProviderConfig") => {
                self.provider_configs.push(serde_json::from_value(value).map_err(invalid)?)
            }
            ("zpa.operator.dev/v1alpha1", "Microtenant") => {
                let mut object: Microtenant = serde_json::from_value(value).map_err(invalid)?;
                default_namespace(&mut object.metadata);
                self.microtenants.push(object);
            }
            ("zpa.operator.dev/v1alpha1", "IsolationProfile") => {
                let mut object: IsolationProfile = serde_json::from_value(value).map_err(invalid)?;
                default_namespace(&mut object.metadata);
                self.profiles.push(object);
            }
            ("v1", "Secret") => {
                let mut secret: Secret = serde_json::from_value(value).map_err(invalid)?;
                default_namespace(&mut secret.metadata);
                self.secrets.push(secret);
            }
            _ => self.ignored.push(format!("{kind} {name}")),
        }
        Ok(())
    }

    /// A key of a Secret from the manifests (`stringData` or `data`).
    pub fn secret_key(&self, namespace: &str, name: &str, key: &str) -> Option<SecretString> {
        let secret =
            self.secrets.iter().find(|s| s.namespace().as_deref() == Some(namespace) && s.name_any() == name)?;
        let from_string = secret.string_data.as_ref().and_then(|d| d.get(key)).cloned();
        let from_data = secret.data.as_ref().and_then(|d| d.get(key)).and_then(|b| String::from_utf8(b.0.clone()).ok());
        from_string.or(from_data).map(|v| SecretString::new(v.trim())).filter(|v| !v.is_empty())
    }

    pub fn provider_config(&self, name: &str) -> Option<&ZpaProviderConfig> {
        self.provider_configs.iter().find(|p| p.name_any() == name)
    }

    pub fn microtenant(&self, namespace: &str, name: &str) -> Option<&Microtenant> {
        self.microtenants.iter().find(|m| m.namespace().as_deref() == Some(namespace) && m.name_any() == name)
    }
}

fn default_namespace(meta: &mut kube::api::ObjectMeta) {
    if meta.namespace.is_none() {
        meta.namespace = Some(DEFAULT_NAMESPACE.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_sorted_by_kind_and_secrets_readable() {
        let mut manifests = Manifests::default();
        manifests
            .add_documents(
                r#"
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: zpa-system}
stringData: {clientId: abc}
data: {clientSecret: czNjcmV0}
---
apiVersion: zpa.operator.dev/v1alpha1
kind: Microtenant
metadata: {name: team-a}
spec: {criteriaAttributeValues: [a.example.com]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other}
"#,
            )
            .unwrap();
        assert_eq!(manifests.microtenants[0].namespace().as_deref(), Some("default"));
        assert_eq!(manifests.secret_key("zpa-system", "creds", "clientId").unwrap().expose(), "abc");
        assert_eq!(manifests.secret_key("zpa-system", "creds", "clientSecret").unwrap().expose(), "s3cret");
        assert_eq!(manifests.ignored, vec!["Deployment other"]);
        let bad = manifests.add_documents("apiVersion: zpa.operator.dev/v1alpha1\nkind: Microtenant\nmetadata: {name: x}\nspec: {criteriaAttributeValues: 3}\n");
        assert!(bad.unwrap_err().contains("Microtenant \"x\" is invalid"));
    }
}
