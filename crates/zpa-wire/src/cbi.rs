//! Cloud Browser Isolation objects under `/cbiconfig/cbi/api/customers/{cid}/...`.
//!
//! CBI lists are bare JSON arrays (no paging, no search). A profile has two
//! shapes for its references: id arrays (`regionIds`, `certificateIds`,
//! `bannerId`) that create sends, and object arrays (`regions`, `certificates`,
//! `banner`) that GET returns. PUT sends both.

use serde::{Deserialize, Serialize};

use super::{Extra, lenient};
use crate::secret::SecretString;

/// A CBI isolation profile (`/profiles`, UUID id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CbiProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<NamedRef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<NamedRef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_controls: Option<SecurityControls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_experience: Option<UserExperience>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_mode: Option<DebugMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_profile_id: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl CbiProfile {
    /// Region ids in either shape: the id array when present, else the objects.
    pub fn effective_region_ids(&self) -> Vec<String> {
        ids_of(&self.region_ids, &self.regions)
    }

    pub fn effective_certificate_ids(&self) -> Vec<String> {
        ids_of(&self.certificate_ids, &self.certificates)
    }

    pub fn effective_banner_id(&self) -> Option<String> {
        self.banner_id.clone().filter(|id| !id.is_empty()).or_else(|| self.banner.as_ref().map(|b| b.id.clone()))
    }
}

fn ids_of(ids: &Option<Vec<String>>, objects: &Option<Vec<NamedRef>>) -> Vec<String> {
    match (ids, objects) {
        (Some(ids), _) if !ids.is_empty() => ids.clone(),
        (_, Some(objects)) => objects.iter().map(|o| o.id.clone()).collect(),
        _ => Vec::new(),
    }
}

/// `{id, name?, ...}`: the object form of a reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl NamedRef {
    pub fn id(id: impl Into<String>) -> Self {
        Self { id: id.into(), ..Self::default() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityControls {
    /// `"none"` or `"all"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_paste: Option<String>,
    /// `"none"`, `"all"` or `"upstream"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_download: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_viewer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_render: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_printing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_keystrokes: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flattened_pdf: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_and_mic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_link: Option<DeepLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeepLink {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Empty means every application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watermark {
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
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserExperience {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_in_browser: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist_isolation_bar: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zgpu: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_to_zia: Option<ForwardToZia>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardToZia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// e.g. `"zscalertwo"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pac_file_url: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DebugMode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_password: Option<SecretString>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET .../regions`: `[{id, name}]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CbiRegion {
    pub id: String,
    pub name: String,
}

/// `GET .../certificates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CbiCertificate {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET .../banners`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CbiBanner {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET .../zpaprofiles`: the ZPA-side isolation profile in CBI key style.
/// `id` is the numeric ZPA id that access policy rules reference;
/// `cbiProfileId` is the CBI profile's UUID.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZpaProfile {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cbi_url: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The two fields of a ZPA-side profile that link it to its CBI profile,
/// for an index over thousands of them (the rest is skipped, not parsed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZpaProfileLink {
    pub id: String,
    #[serde(default)]
    pub cbi_profile_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let body = r#"{"id":"u1","name":"p","regions":[{"id":"r1","name":"Frankfurt"},{"id":"r2"}],
            "securityControls":{"copyPaste":"all","futureFlag":true},"serverOnly":{"a":1}}"#;
        let profile: CbiProfile = serde_json::from_str(body).unwrap();
        assert_eq!(profile.effective_region_ids(), vec!["r1", "r2"]);
        let back = serde_json::to_value(&profile).unwrap();
        assert_eq!(back["serverOnly"]["a"], 1);
        assert_eq!(back["securityControls"]["futureFlag"], true);
        assert!(back.get("regionIds").is_none(), "absent fields stay absent");
    }

    #[test]
    fn banner_id_falls_back_to_the_object_form() {
        let profile: CbiProfile = serde_json::from_str(r#"{"name":"p","banner":{"id":"b1"}}"#).unwrap();
        assert_eq!(profile.effective_banner_id().as_deref(), Some("b1"));
    }
}
