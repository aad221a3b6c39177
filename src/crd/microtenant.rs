//! `Microtenant`: a ZPA Microtenant (`/mgmtconfig/v1/admin/customers/{cid}/microtenants`).

// kube's printcolumn(...) attributes repeat `type_ = "string"` by design.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    LocalObjectRef, ManagedFields, ManagedStatus, RULE_EXTERNAL_ID_IMMUTABLE, RULE_PROVIDER_CONFIG_IMMUTABLE, bounds,
};

/// Desired state of a Microtenant. Optional fields left out are not managed.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "zpa.operator.dev",
    version = "v1alpha1",
    kind = "Microtenant",
    namespaced,
    status = "MicrotenantStatus",
    shortname = "mt",
    category = "zpa",
    doc = "A ZPA Microtenant, kept equal to this spec.",
    printcolumn(name = "READY", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "SYNCED", type_ = "string", json_path = ".status.conditions[?(@.type==\"Synced\")].status"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id"),
    printcolumn(name = "AGE", type_ = "date", json_path = ".metadata.creationTimestamp"),
    cel
)]
#[x_kube(validation = Rule::new(RULE_PROVIDER_CONFIG_IMMUTABLE).message("providerConfigRef is immutable"))]
#[x_kube(validation = Rule::new(RULE_EXTERNAL_ID_IMMUTABLE).message("externalId is immutable once set"))]
#[x_kube(validation = Rule::new("!has(self.name) || self.name.matches('^[A-Za-z0-9][A-Za-z0-9 ._-]*$')").message("name may hold letters, digits, spaces, '.', '-' and '_' only"))]
#[serde(rename_all = "camelCase")]
pub struct MicrotenantSpec {
    #[serde(flatten)]
    pub managed: ManagedFields,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::DESCRIPTION))]
    pub description: Option<String>,

    /// Disabling a Microtenant maps its users back to Default and ends their sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,

    /// Only `AuthDomain` is supported (and used when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria_attribute: Option<CriteriaAttribute>,

    /// Authentication domains of the tenant; each belongs to one Microtenant
    /// only. Optional: a Microtenant with privileged approvals and no domain
    /// is valid. Left out, the domains are not managed; `[]` manages them as none.
    // ZPA created such a Microtenant on a real tenant (zpa-api-facts §9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::DOMAINS), inner(length(max = bounds::DOMAIN)))]
    #[x_kube(validation = Rule::new("self.all(d, size(d) > 0)").message("domains must not be empty"))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub criteria_attribute_values: Option<Vec<String>>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_approvals_enabled: Option<bool>,

    /// The Secret (same namespace) that receives the generated admin user's
    /// `username` and `password`. ZPA shows them once, at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_credentials_secret_ref: Option<LocalObjectRef>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CriteriaAttribute {
    #[default]
    AuthDomain,
}

impl CriteriaAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            CriteriaAttribute::AuthDomain => "AuthDomain",
        }
    }
}

/// Observed state, written by the operator only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MicrotenantStatus {
    #[serde(flatten)]
    pub managed: ManagedStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_provider: Option<MicrotenantObservation>,
}

/// The server's view of the managed fields.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MicrotenantObservation {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria_attribute_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_approvals_enabled: Option<bool>,
}
