//! The custom resource definitions: Rust types, schema and CEL rules.
//! `zpa-operator crds` prints them; `crds/` holds the same YAML.

pub mod common;
pub mod isolation_profile;
pub mod microtenant;
pub mod provider_config;
pub mod validation;

pub use common::*;
pub use isolation_profile::*;
pub use microtenant::*;
pub use provider_config::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSON};
use kube::CustomResourceExt;

/// The parts every managed kind's spec and status share, for code that
/// works on any kind (`controller::ControllerKind`).
macro_rules! managed_parts {
    ($($spec:ty, $status:ty);* $(;)?) => {$(
        impl AsRef<ManagedFields> for $spec {
            fn as_ref(&self) -> &ManagedFields {
                &self.managed
            }
        }
        impl AsRef<ManagedStatus> for $status {
            fn as_ref(&self) -> &ManagedStatus {
                &self.managed
            }
        }
        impl AsMut<ManagedStatus> for $status {
            fn as_mut(&mut self) -> &mut ManagedStatus {
                &mut self.managed
            }
        }
        impl ObservedStatus for $status {
            fn at_provider_json(&self) -> Option<serde_json::Value> {
                serde_json::to_value(self.at_provider.as_ref()?).ok()
            }

            fn take_at_provider(&mut self) -> Option<serde_json::Value> {
                serde_json::to_value(self.at_provider.take()?).ok()
            }
        }
    )*};
}

managed_parts! {
    IsolationProfileSpec, IsolationProfileStatus;
    MicrotenantSpec, MicrotenantStatus;
}

/// Every CRD the operator serves, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![ZpaProviderConfig::crd(), Microtenant::crd(), IsolationProfile::crd()];
    crds.iter_mut().for_each(default_status_unobserved);
    crds.iter_mut().for_each(label_version);
    crds
}

/// `app.kubernetes.io/version`: the workspace version, which the chart, the
/// image labels and `--version` carry too (tests/release_versions.rs).
fn label_version(crd: &mut CustomResourceDefinition) {
    let labels = crd.metadata.labels.get_or_insert_with(Default::default);
    labels.insert("app.kubernetes.io/version".to_owned(), env!("CARGO_PKG_VERSION").to_owned());
}

/// The status of an object the operator has not looked at yet reads
/// `observedGeneration: 0`, so kstatus (Flux's health checks and `wait`)
/// reports a brand-new object InProgress ("generation is 1, but latest
/// observed generation is 0") rather than Current. The API server applies
/// the default whenever it reads the object: on create the status is not
/// stored (a status subresource), so it is never user input.
fn default_status_unobserved(crd: &mut CustomResourceDefinition) {
    for version in &mut crd.spec.versions {
        let properties =
            version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()).and_then(|s| s.properties.as_mut());
        if let Some(status) = properties.and_then(|p| p.get_mut("status")) {
            status.default = Some(JSON(serde_json::json!({"observedGeneration": 0})));
        }
    }
}

/// One CRD as the YAML document `crds/` holds for it.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_saphyr::ser::Error> {
    Ok(format!("---\n{}", serde_saphyr::to_string(crd)?))
}

/// The file name of a CRD in `crds/`: `<group>_<plural>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// Every CRD as one multi-document YAML stream.
pub fn to_yaml() -> Result<String, serde_saphyr::ser::Error> {
    all().iter().map(crd_yaml).collect()
}

/// Writes one file per CRD into `dir` (what `crds/` holds).
pub fn write_files(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    for crd in all() {
        std::fs::write(dir.join(crd_file_name(&crd)), crd_yaml(&crd)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod cel_tests;
