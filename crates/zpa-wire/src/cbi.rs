//! Cloud Browser Isolation objects under `/cbiconfig/cbi/api/customers/{cid}/...`.
//!
//! CBI lists are bare JSON arrays (no paging, no search). A profile has two
//! shapes for its references: id arrays (`regionIds`, `certificateIds`,
//! `bannerId`) that create sends, and object arrays (`regions`, `certificates`,
//! `banner`) that GET returns. PUT sends both.

use serde::{Deserialize, Serialize};

use super::{Extra, lenient};
use crate::secret::SecretString;

/// The built-in root certificate of every tenant: `{"id":"87122222-457f-11ed-b878-0242ac120002",
/// "name":"Zscaler Root Certificate","isDefault":true}` with no `pem` (recorded
/// tenant traffic, zscaler-sdk-python `tests/integration/zpa/cassettes/TestCBICertificates.yaml`).
/// It "is applied by default, and you cannot disable it" (help.zscaler.com,
/// Creating Isolation Profiles for Private Applications): every profile has it.
pub const ROOT_CERTIFICATE_ID: &str = "87122222-457f-11ed-b878-0242ac120002";
pub const ROOT_CERTIFICATE_NAME: &str = "Zscaler Root Certificate";

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

/// Keys of a CBI profile only the server writes: `href`, `cbiUrl`, the
/// ZPA-side view's `cbiTenantId`/`cbiProfileId` and the timestamps. No SDK
/// sends them back (the Terraform provider builds its update from the
/// schema, `expandCBIExternalProfile`), so no update does.
pub const SERVER_ONLY_KEYS: [&str; 7] =
    ["href", "cbiUrl", "cbiTenantId", "cbiProfileId", "creationTime", "modifiedTime", "modifiedBy"];

impl CbiProfile {
    /// The body of `PUT .../profiles/{id}` for a profile that should look like
    /// `self`: the SDKs' update shape. Both reference forms, built from the
    /// same ids (`regionIds` and `regions: [{id}]`, `certificateIds` and
    /// `certificates: [{id}]`, `bannerId` and `banner: {id}`), as the
    /// Terraform provider sends them and as the Python SDK's update requires
    /// (`regions`, `certificates`, `banner.id`); the server-only keys
    /// ([`SERVER_ONLY_KEYS`]) left out. Fields this crate does not model are
    /// sent back as read, so a field a newer API adds is not reset by a PUT.
    pub fn update_body(&self, id: &str) -> Result<serde_json::Value, serde_json::Error> {
        let mut body = serde_json::to_value(self)?;
        let Some(fields) = body.as_object_mut() else {
            return Err(serde::ser::Error::custom("a profile must encode as a JSON object"));
        };
        for key in SERVER_ONLY_KEYS {
            fields.remove(key);
        }
        let refs = |ids: &[String]| -> serde_json::Value {
            serde_json::Value::Array(ids.iter().map(|id| serde_json::json!({ "id": id })).collect())
        };
        fields.insert("id".into(), id.into());
        let regions = self.effective_region_ids();
        fields.insert("regionIds".into(), regions.clone().into());
        fields.insert("regions".into(), refs(&regions));
        if self.certificate_ids.is_some() || self.certificates.is_some() {
            let certificates = self.effective_certificate_ids();
            fields.insert("certificateIds".into(), certificates.clone().into());
            fields.insert("certificates".into(), refs(&certificates));
        }
        if let Some(banner) = self.effective_banner_id() {
            fields.insert("bannerId".into(), banner.clone().into());
            fields.insert("banner".into(), serde_json::json!({ "id": banner }));
        }
        Ok(body)
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
    fn an_update_body_has_both_reference_forms_and_no_server_fields() {
        let read: CbiProfile = serde_json::from_str(
            r#"{"id":"u1","name":"p","description":"d","isDefault":false,"enabled":true,
            "regions":[{"id":"r1","name":"Frankfurt"},{"id":"r2","name":"London"}],
            "certificates":[{"id":"c1","name":"Zscaler Root Certificate","isDefault":true}],
            "banner":{"id":"b1","name":"Default"},"securityControls":{"copyPaste":"all"},
            "userExperience":{"zgpu":false},"debugMode":{"allowed":false},
            "cbiUrl":"https://x","href":"/h","cbiTenantId":"t","cbiProfileId":"u1",
            "creationTime":"1","modifiedTime":"2","modifiedBy":"3"}"#,
        )
        .unwrap();
        let body = read.update_body("u1").unwrap();
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "banner",
                "bannerId",
                "certificateIds",
                "certificates",
                "debugMode",
                "description",
                "enabled",
                "id",
                "isDefault",
                "name",
                "regionIds",
                "regions",
                "securityControls",
                "userExperience"
            ]
        );
        assert_eq!(body["regions"], serde_json::json!([{"id": "r1"}, {"id": "r2"}]));
        assert_eq!(body["regionIds"], serde_json::json!(["r1", "r2"]));
        assert_eq!(body["certificates"], serde_json::json!([{"id": "c1"}]));
        assert_eq!(body["banner"], serde_json::json!({"id": "b1"}));
    }

    #[test]
    fn banner_id_falls_back_to_the_object_form() {
        let profile: CbiProfile = serde_json::from_str(r#"{"name":"p","banner":{"id":"b1"}}"#).unwrap();
        assert_eq!(profile.effective_banner_id().as_deref(), Some("b1"));
    }
}
