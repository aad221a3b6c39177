//! `IsolationProfile`: a Cloud Browser Isolation profile in ZPA
//! (`/cbiconfig/cbi/api/customers/{cid}/profiles`).

// kube's printcolumn(...) attributes repeat `type_ = "string"` by design.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    LocalObjectRef, ManagedFields, ManagedStatus, RULE_EXTERNAL_ID_IMMUTABLE, RULE_PROVIDER_CONFIG_IMMUTABLE,
    SecretKeyRef, bounds,
};

/// Desired state of a CBI isolation profile. Every optional field left out is
/// not managed: the operator neither sets nor compares it.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "zpa.operator.dev",
    version = "v1alpha1",
    kind = "IsolationProfile",
    namespaced,
    status = "IsolationProfileStatus",
    shortname = "isop",
    category = "zpa",
    doc = "A ZPA Cloud Browser Isolation profile, kept equal to this spec.",
    printcolumn(name = "READY", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "SYNCED", type_ = "string", json_path = ".status.conditions[?(@.type==\"Synced\")].status"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id"),
    printcolumn(name = "ZPA-ID", type_ = "string", json_path = ".status.zpaProfileId", priority = "1"),
    printcolumn(name = "AGE", type_ = "date", json_path = ".metadata.creationTimestamp"),
    cel
)]
#[x_kube(validation = Rule::new(RULE_PROVIDER_CONFIG_IMMUTABLE).message("providerConfigRef is immutable"))]
#[x_kube(validation = Rule::new(RULE_EXTERNAL_ID_IMMUTABLE).message("externalId is immutable once set"))]
#[x_kube(validation = Rule::new("!(has(self.microtenantRef) && has(self.microtenantId))").message("set microtenantRef or microtenantId, not both"))]
#[x_kube(validation = Rule::new(RULE_SCOPE_IMMUTABLE).message("the Microtenant scope (microtenantRef, microtenantId) is immutable; delete and recreate the profile to move it"))]
#[x_kube(validation = Rule::new(RULE_CAMERA_NEEDS_TURBO).message("securityControls.cameraAndMic needs Turbo Mode: set userExperience.zgpu to true"))]
#[serde(rename_all = "camelCase")]
pub struct IsolationProfileSpec {
    #[serde(flatten)]
    pub managed: ManagedFields,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::DESCRIPTION))]
    pub description: Option<String>,

    /// CBI regions by name or id; at least two.
    #[schemars(length(min = 2, max = bounds::REGIONS), inner(length(max = bounds::REFERENCE)))]
    #[x_kube(validation = Rule::new("self.all(r, size(r) > 0)").message("region names must not be empty"))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub regions: Vec<String>,

    /// Root certificates by name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = bounds::CERTIFICATES), inner(length(min = 1, max = bounds::REFERENCE)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub certificates: Option<Vec<String>>,

    /// The banner by name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = bounds::REFERENCE))]
    pub banner: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_controls: Option<SecurityControlsSpec>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_experience: Option<UserExperienceSpec>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_mode: Option<DebugModeSpec>,

    /// Scope the profile to a `Microtenant` in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_ref: Option<LocalObjectRef>,

    /// Scope the profile to a Microtenant by its ZPA id ("0" is the Default Microtenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+$"), length(max = bounds::NUMERIC_ID))]
    pub microtenant_id: Option<String>,
}

/// Camera and microphone need Turbo Mode (`zgpu`), as the admin portal says
/// (facts §1.2); ZPA refuses the combination, so the API server does first.
pub const RULE_CAMERA_NEEDS_TURBO: &str = "!(has(self.securityControls) && has(self.securityControls.cameraAndMic) && self.securityControls.cameraAndMic) || (has(self.userExperience) && has(self.userExperience.zgpu) && self.userExperience.zgpu)";

/// The scope cannot move: compares microtenantRef.name / microtenantId, absent or not.
pub const RULE_SCOPE_IMMUTABLE: &str = "(has(self.microtenantRef) ? self.microtenantRef.name : '') == (has(oldSelf.microtenantRef) ? oldSelf.microtenantRef.name : '') && (has(self.microtenantId) ? self.microtenantId : '') == (has(oldSelf.microtenantId) ? oldSelf.microtenantId : '')";

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CopyPaste {
    None,
    All,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadDownload {
    None,
    All,
    Upstream,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!(has(self.flattenedPdf) && self.flattenedPdf) || (has(self.uploadDownload) && self.uploadDownload != 'all')")
        .message("flattenedPdf requires uploadDownload to be none or upstream")
)]
#[serde(rename_all = "camelCase")]
pub struct SecurityControlsSpec {
    /// `none` or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_paste: Option<CopyPaste>,
    /// `none`, `all` or `upstream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_download: Option<UploadDownload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_viewer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_render: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_printing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_keystrokes: Option<bool>,
    /// Needs `uploadDownload` set to `none` or `upstream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flattened_pdf: Option<bool>,
    /// Camera and microphone in isolation; needs `userExperience.zgpu` (Turbo Mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_and_mic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_link: Option<DeepLinkSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<WatermarkSpec>,
}

/// No length bounds here: the status view (`atProvider`) shares this type,
/// and what ZPA holds must always be writable to status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeepLinkSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Empty means every application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub applications: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_user_id: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_timestamp: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_message: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserExperienceSpec {
    /// Keep cookies between isolation sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<bool>,
    /// Browser-in-browser (true) or the native browser experience (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_in_browser: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist_isolation_bar: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translate: Option<bool>,
    /// Turbo mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zgpu: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_to_zia: Option<ForwardToZiaSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForwardToZiaSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// e.g. `zscalertwo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pac_file_url: Option<String>,
}

/// Debug mode. Allowing it needs a file password, as ZPA's admin portal does.
// The rule is the portal's (zpa-api-facts §1.2); ZPA refuses it, so the API server does first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!self.allowed || has(self.filePasswordSecretRef)")
        .message("debugMode.allowed needs filePasswordSecretRef: ZPA requires a debug file password")
)]
#[serde(rename_all = "camelCase")]
pub struct DebugModeSpec {
    pub allowed: bool,
    /// The debug file password, only ever through a Secret key. Required when `allowed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_password_secret_ref: Option<SecretKeyRef>,
}

/// Observed state, written by the operator only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IsolationProfileStatus {
    #[serde(flatten)]
    pub managed: ManagedStatus,
    /// The numeric ZPA-side isolation profile id that access policy rules reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zpa_profile_id: Option<String>,
    /// The Microtenant scope the profile lives in ("0" is the Default Microtenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microtenant_id: Option<String>,
    // Boxed: a cached copy holds none (`controller::cached`), and then takes no room for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_provider: Option<Box<IsolationProfileObservation>>,
}

/// The server's view of the managed fields.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IsolationProfileObservation {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<NamedId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<NamedId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<NamedId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_controls: Option<SecurityControlsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_experience: Option<UserExperienceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_mode_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_url: Option<String>,
}

/// An id with its display name, when known.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct NamedId {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
