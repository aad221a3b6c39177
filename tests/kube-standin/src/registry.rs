//! The set of served resources: the built-in kinds plus one entry per served version of every
//! stored CustomResourceDefinition.
//!
//! Mirrors what the apiserver's REST mapper and discovery know about a resource: group, version,
//! plural/singular, kind, scope, short names, categories, verbs, the `/status` subresource,
//! CRD schemas and `additionalPrinterColumns`.

use serde_json::Value;
use std::sync::Arc;

/// Which built-in kind a resource is (custom resources have none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Namespace,
    Secret,
    CoreEvent,
    Event,
    Lease,
    Crd,
}

/// Identity of the stored collection; several group-versions may share one
/// (`v1` and `events.k8s.io/v1` Events, the versions of a CRD).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageKey {
    pub group: String,
    pub resource: String,
}

impl StorageKey {
    pub fn new(group: &str, resource: &str) -> Self {
        Self { group: group.to_string(), resource: resource.to_string() }
    }
}

/// An `additionalPrinterColumns` entry.
#[derive(Clone, Debug)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// One served group/version/resource.
#[derive(Clone, Debug)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    /// `openAPIV3Schema` of this version (custom resources only).
    pub schema: Option<Arc<Value>>,
    pub printer_columns: Vec<PrinterColumn>,
    pub builtin: Option<Builtin>,
    pub storage: StorageKey,
    /// The storage version's apiVersion (custom resources are stored in it).
    pub storage_api_version: String,
}

pub const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    pub fn group_version(&self) -> String {
        self.api_version()
    }

    /// Whether the apiserver keeps `metadata.generation` for this kind.
    pub fn has_generation(&self) -> bool {
        matches!(self.builtin, None | Some(Builtin::Crd))
    }

    /// `AllowUnconditionalUpdate` of the kind's REST strategy.
    pub fn allow_unconditional_update(&self) -> bool {
        !matches!(self.builtin, None | Some(Builtin::Crd))
    }

    pub fn is_custom(&self) -> bool {
        self.builtin.is_none()
    }

    #[allow(clippy::too_many_arguments)]
    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        short_names: &[&str],
        status: bool,
        builtin: Builtin,
    ) -> Self {
        let storage_group = if builtin == Builtin::Event { "" } else { group };
        Self {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            namespaced,
            short_names: short_names.iter().map(|s| s.to_string()).collect(),
            categories: Vec::new(),
            status_subresource: status,
            schema: None,
            printer_columns: Vec::new(),
            builtin: Some(builtin),
            storage: StorageKey::new(storage_group, plural),
            storage_api_version: if storage_group.is_empty() { "v1".into() } else { format!("{group}/{version}") },
        }
    }
}

/// All served resources.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    pub builtins: Vec<ResourceType>,
    pub custom: Vec<ResourceType>,
}

impl Registry {
    pub fn new() -> Self {
        let mut crd = ResourceType::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            true,
            Builtin::Crd,
        );
        crd.categories = vec!["api-extensions".into()];
        Self {
            builtins: vec![
                ResourceType::builtin("", "v1", "namespaces", "Namespace", false, &["ns"], true, Builtin::Namespace),
                ResourceType::builtin("", "v1", "secrets", "Secret", true, &[], false, Builtin::Secret),
                ResourceType::builtin("", "v1", "events", "Event", true, &["ev"], false, Builtin::CoreEvent),
                ResourceType::builtin("events.k8s.io", "v1", "events", "Event", true, &["ev"], false, Builtin::Event),
                ResourceType::builtin("coordination.k8s.io", "v1", "leases", "Lease", true, &[], false, Builtin::Lease),
                crd,
            ],
            custom: Vec::new(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &ResourceType> {
        self.builtins.iter().chain(self.custom.iter())
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.all().find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// Whether a group/version is served at all.
    pub fn has_group_version(&self, group: &str, version: &str) -> bool {
        self.all().any(|r| r.group == group && r.version == version)
    }

    /// Resources of one group/version.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<&ResourceType> {
        self.all().filter(|r| r.group == group && r.version == version).collect()
    }

    /// Groups (other than core) with their versions, preferred version first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.all().filter(|r| !r.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) => {
                    if !versions.contains(&r.version) {
                        versions.push(r.version.clone());
                    }
                }
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        for (_, versions) in &mut out {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    /// Any served version of a stored collection (used to render stored objects).
    pub fn by_storage(&self, key: &StorageKey) -> Option<&ResourceType> {
        self.all()
            .find(|r| r.storage == *key && r.storage_api_version == r.api_version())
            .or_else(|| self.all().find(|r| r.storage == *key))
    }

    /// Every stored collection, once.
    pub fn storage_keys(&self) -> Vec<StorageKey> {
        let mut keys: Vec<StorageKey> = Vec::new();
        for r in self.all() {
            if !keys.contains(&r.storage) {
                keys.push(r.storage.clone());
            }
        }
        keys
    }
}

/// Kubernetes version priority (`v1` > `v1beta2` > `v1beta1` > `v1alpha1` > others).
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (level, num) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    match num.parse::<u32>() {
        Ok(n) => (level, major, n),
        Err(_) => (0, 0, 0),
    }
}
