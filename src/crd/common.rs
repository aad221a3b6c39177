//! Spec and status pieces shared by the managed kinds (`IsolationProfile`,
//! `Microtenant`): which tenant, what to do on delete, whether to write at
//! all, how to find an existing remote object, and the status conditions.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of every kind.
pub const GROUP: &str = "zpa.operator.dev";

/// Annotations the operator reads or writes on managed objects.
pub mod annotations {
    /// `"true"` stops every remote call for the object.
    pub const PAUSED: &str = "zpa.operator.dev/paused";
    /// Written before a create is sent, removed once its id is persisted:
    /// `{"at": RFC 3339, "name": remote name}`. Seeing it with no id means a
    /// create may have happened without us recording it.
    pub const CREATE_PENDING: &str = "zpa.operator.dev/create-pending";
    /// The remote id, persisted in metadata right after create so that it
    /// survives the loss of status (backup and restore, status wipes).
    pub const EXTERNAL_ID: &str = "zpa.operator.dev/external-id";
}

/// The finalizer that guards remote deletion.
pub const FINALIZER: &str = "zpa.operator.dev/finalizer";

/// Which `ZpaProviderConfig` (tenant) an object belongs to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ProviderConfigRef {
    /// Name of a cluster-scoped `ZpaProviderConfig`.
    #[schemars(length(min = 1, max = bounds::OBJECT_NAME))]
    pub name: String,
}

/// Bounds of spec fields. ZPA documents none for names or descriptions; these
/// are generous, keep custom resources (and CEL cost estimates) bounded, and
/// are listed in the README's CRD reference. Types the status view shares
/// (security controls, user experience) stay unbounded: whatever ZPA holds
/// must always be writable to status.
pub mod bounds {
    /// A remote display name.
    pub const NAME: u32 = 255;
    /// A description.
    pub const DESCRIPTION: u32 = 4096;
    /// A Kubernetes object name (or Secret key).
    pub const OBJECT_NAME: u32 = 253;
    /// A ZPA id: a UUID (36) or a 64-bit number (at most 20 digits).
    pub const EXTERNAL_ID: u32 = 64;
    /// A numeric ZPA id.
    pub const NUMERIC_ID: u32 = 20;
    /// A CBI region, certificate or banner name (or id).
    pub const REFERENCE: u32 = 255;
    /// Regions a profile may name (ZPA has about twenty).
    pub const REGIONS: u32 = 64;
    /// Root certificates a profile may name.
    pub const CERTIFICATES: u32 = 64;
    /// A DNS name, as authentication domains are.
    pub const DOMAIN: u32 = 253;
    /// Authentication domains of one Microtenant.
    pub const DOMAINS: u32 = 256;
}

/// The provider config name used when `providerConfigRef` is omitted.
pub const DEFAULT_PROVIDER_CONFIG: &str = "default";

/// What happens to the remote object when the custom resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the remote object (the default).
    #[default]
    Delete,
    /// Leave the remote object in ZPA.
    Orphan,
}

/// Whether the operator may write to ZPA for this object.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and delete (the default).
    #[default]
    Manage,
    /// Never write; report differences as `Synced=False, reason=ObserveOnlyDrift`.
    ObserveOnly,
}

/// What to do when no remote id is known yet.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Adoption {
    /// Always create; an existing object of the same name is an error (the default).
    #[default]
    Never,
    /// Adopt the single existing remote object of that name, else create.
    ByName,
}

/// A reference to an object in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectRef {
    #[schemars(length(min = 1, max = bounds::OBJECT_NAME))]
    pub name: String,
}

/// A key of a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = bounds::OBJECT_NAME))]
    pub name: String,
    #[schemars(length(min = 1, max = bounds::OBJECT_NAME))]
    pub key: String,
}

/// The spec fields every managed kind has, flattened into its spec.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedFields {
    /// The tenant; `default` when omitted. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_config_ref: Option<ProviderConfigRef>,
    /// The remote display name; `metadata.name` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::NAME))]
    pub name: Option<String>,
    /// `Delete` (default) or `Orphan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// `Manage` (default) or `ObserveOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,
    /// Adopt exactly this remote object (its ZPA id). Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::EXTERNAL_ID))]
    pub external_id: Option<String>,
    /// `Never` (default) or `ByName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<Adoption>,
}

impl ManagedFields {
    /// The remote display name: `name`, else the object's `metadata.name`.
    pub fn remote_name(&self, metadata_name: &str) -> String {
        self.name.clone().unwrap_or_else(|| metadata_name.to_owned())
    }

    pub fn provider_config_name(&self) -> &str {
        self.provider_config_ref.as_ref().map_or(DEFAULT_PROVIDER_CONFIG, |r| r.name.as_str())
    }

    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    pub fn management_policy(&self) -> ManagementPolicy {
        self.management_policy.unwrap_or_default()
    }

    pub fn adoption(&self) -> Adoption {
        self.adoption.unwrap_or_default()
    }
}

/// CEL rules (on the spec) that keep a managed object pointed at the same
/// tenant and remote object for its whole life.
pub const RULE_PROVIDER_CONFIG_IMMUTABLE: &str = "(has(self.providerConfigRef) ? self.providerConfigRef.name : 'default') == (has(oldSelf.providerConfigRef) ? oldSelf.providerConfigRef.name : 'default')";
pub const RULE_EXTERNAL_ID_IMMUTABLE: &str =
    "!has(oldSelf.externalId) || (has(self.externalId) && self.externalId == oldSelf.externalId)";

/// A status condition, Kubernetes style.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Synced`, and for kstatus `Reconciling` or `Stalled`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A stable PascalCase reason (see the README's condition reference).
    pub reason: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// RFC 3339; changes only when `status` changes.
    pub last_transition_time: String,
}

/// Status fields every managed kind has, flattened into its status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedStatus {
    /// The ZPA id of the remote object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and `Synced`; `Reconciling` or `Stalled` while either is true.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// When `Synced` last became true, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// Not part of the resource: what a cached copy keeps of its
    /// `atProvider`, which the cache drops (`controller::cached`).
    #[serde(skip)]
    pub at_provider_digest: Option<u64>,
}

/// A status with ZPA's view of the object (`atProvider`), as JSON.
pub trait ObservedStatus {
    fn at_provider_json(&self) -> Option<serde_json::Value>;
    /// Takes it out (a cached copy keeps its digest, `controller::cached`).
    fn take_at_provider(&mut self) -> Option<serde_json::Value>;
}

/// The condition types.
pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";
/// kstatus's (what Flux's health checks read): `True` while the operator is
/// still working on the object, absent otherwise.
pub const RECONCILING: &str = "Reconciling";
/// kstatus's: `True` when the last reconcile failed in a way only a person
/// can fix (its reason is `Synced`'s), absent otherwise.
pub const STALLED: &str = "Stalled";

/// Read `conditions` of type `type_`.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}
