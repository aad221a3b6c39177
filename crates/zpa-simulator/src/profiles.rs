//! CBI isolation profiles: the rules of create, update and delete, and the two
//! ZPA-side views (the store itself is `profile_store.rs`).
//!
//! A profile is stored as the JSON object GET returns (object forms of the
//! references, regions sorted by name, server fields filled in), so fields the
//! simulator does not know survive a PUT and come back on GET.

use serde_json::{Value, json};

use super::common::{DEFAULT_SCOPE, Object, merge_patch};
use super::customer::Customer;
use super::error::ApiError;
use super::profile_store::StoredProfile;
use zpa_wire::cbi::CbiProfile;
use zpa_wire::error::ids;

/// Keys the server owns or rebuilds; everything else in a body is kept verbatim.
const REBUILT_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "isDefault",
    "enabled",
    "regionIds",
    "regions",
    "certificateIds",
    "certificates",
    "bannerId",
    "banner",
    "securityControls",
    "userExperience",
    "debugMode",
    "cbiUrl",
    "href",
    "cbiTenantId",
    "cbiProfileId",
    "creationTime",
    "modifiedTime",
    "modifiedBy",
];

const COPY_PASTE: &[&str] = &["none", "all"];
const UPLOAD_DOWNLOAD: &[&str] = &["none", "all", "upstream"];

fn default_security_controls() -> Value {
    json!({
        "copyPaste": "none",
        "uploadDownload": "none",
        "documentViewer": true,
        "localRender": false,
        "allowPrinting": false,
        "restrictKeystrokes": false,
        "flattenedPdf": false,
        "cameraAndMic": false,
        "deepLink": {"enabled": false, "applications": []},
        "watermark": {"enabled": false, "showUserId": false, "showTimestamp": false, "showMessage": false, "message": ""}
    })
}

fn default_user_experience() -> Value {
    json!({
        "sessionPersistence": false,
        "browserInBrowser": false,
        "persistIsolationBar": false,
        "translate": false,
        "zgpu": false,
        "forwardToZia": {"enabled": false, "organizationId": ""}
    })
}

fn default_debug_mode() -> Value {
    json!({"allowed": false})
}

/// Fills keys missing from `value` (recursively for objects) from `defaults`:
/// the defaults the server fills in and clients must tolerate.
fn fill_missing(value: Option<&Value>, defaults: Value) -> Value {
    match (value, defaults) {
        (Some(Value::Object(given)), Value::Object(defaults)) => {
            let mut out = given.clone();
            for (key, default) in defaults {
                let filled = fill_missing(given.get(&key), default);
                out.insert(key, filled);
            }
            Value::Object(out)
        }
        (Some(v), _) if !v.is_null() => v.clone(),
        (_, defaults) => defaults,
    }
}

fn dedupe(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|id| seen.insert(id.clone())).collect()
}

/// How strictly [`normalise`] checks a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// API create/update: every rule applies.
    Strict,
    /// Drift through the admin API: shape only, anything goes.
    Lenient,
}

struct Existing<'a> {
    body: &'a Object,
}

/// Builds the stored (GET) form from a request body.
fn normalise(
    customer: &Customer,
    input: Object,
    id: &str,
    existing: Option<Existing<'_>>,
    now: u64,
    mode: Mode,
) -> Result<Object, ApiError> {
    let strict = mode == Mode::Strict;
    let typed: CbiProfile = serde_json::from_value(Value::Object(input.clone()))
        .map_err(|err| ApiError::malformed(format!("Invalid isolation profile: {err}")))?;

    let name = typed.name.clone();
    if strict && name.trim().is_empty() {
        return Err(ApiError::invalid_argument("name", "The isolation profile name is required."));
    }

    // Regions: at least two, all known; returned as objects sorted by name.
    let region_ids = dedupe(typed.effective_region_ids());
    if strict && region_ids.len() < 2 {
        return Err(ApiError::invalid_argument("regionIds", "Select at least two regions."));
    }
    let mut regions = Vec::with_capacity(region_ids.len());
    for region_id in &region_ids {
        match customer.region_name(region_id) {
            Some(name) => regions.push((name.to_owned(), region_id.clone())),
            None if strict => {
                return Err(ApiError::invalid_argument("regionIds", format!("Unknown region id '{region_id}'."))
                    .with_params(vec!["regionIds".into(), region_id.clone()]));
            }
            None => regions.push((String::new(), region_id.clone())),
        }
    }
    regions.sort();
    let regions: Vec<Value> = regions
        .into_iter()
        .map(|(name, id)| if name.is_empty() { json!({"id": id}) } else { json!({"id": id, "name": name}) })
        .collect();

    // Certificates: known ids. The Zscaler Root Certificate (the tenant's
    // default certificate) "is applied by default, and you cannot disable it"
    // (help.zscaler.com, Creating Isolation Profiles for Private Applications):
    // it is on every profile, first, whatever the request (or drift) says.
    let mut certificate_ids = customer.default_certificate_ids();
    certificate_ids.extend(typed.effective_certificate_ids());
    let certificate_ids = dedupe(certificate_ids);
    let mut certificates = Vec::with_capacity(certificate_ids.len());
    for cert_id in &certificate_ids {
        match customer.certificate(cert_id) {
            Some(cert) => certificates.push(json!({
                "id": cert.id, "name": cert.name, "isDefault": cert.is_default.unwrap_or(false)
            })),
            None if strict => {
                return Err(ApiError::invalid_argument(
                    "certificateIds",
                    format!("Unknown certificate id '{cert_id}'."),
                )
                .with_params(vec!["certificateIds".into(), cert_id.clone()]));
            }
            None => certificates.push(json!({"id": cert_id})),
        }
    }

    // Banner: a known id; none given means the tenant's default banner.
    let banner = match typed.effective_banner_id() {
        Some(banner_id) => match customer.banner(&banner_id) {
            Some(b) => Some(json!({"id": b.id, "name": b.name})),
            None if strict => {
                return Err(ApiError::invalid_argument("bannerId", format!("Unknown banner id '{banner_id}'."))
                    .with_params(vec!["bannerId".into(), banner_id]));
            }
            None => Some(json!({"id": banner_id})),
        },
        None if strict => customer.default_banner().map(|b| json!({"id": b.id, "name": b.name})),
        None => None,
    };

    let security_controls = fill_missing(input.get("securityControls"), default_security_controls());
    if strict {
        check_security_controls(&security_controls)?;
    }
    let user_experience = fill_missing(input.get("userExperience"), default_user_experience());
    let debug_mode = fill_missing(input.get("debugMode"), default_debug_mode());
    if strict {
        check_ui_rules(&security_controls, &user_experience, &debug_mode)?;
    }

    let previous = |key: &str| existing.as_ref().and_then(|e| e.body.get(key)).cloned();
    let is_default = typed.is_default.or_else(|| previous("isDefault").and_then(|v| v.as_bool())).unwrap_or(false);
    let enabled = typed.enabled.or_else(|| previous("enabled").and_then(|v| v.as_bool())).unwrap_or(true);

    let mut out = Object::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(name));
    if let Some(description) = input.get("description").filter(|d| !d.is_null()) {
        out.insert("description".into(), description.clone());
    }
    out.insert("isDefault".into(), json!(is_default));
    out.insert("enabled".into(), json!(enabled));
    out.insert("regions".into(), Value::Array(regions));
    out.insert("certificates".into(), Value::Array(certificates));
    if let Some(banner) = banner {
        out.insert("banner".into(), banner);
    }
    out.insert("securityControls".into(), security_controls);
    out.insert("userExperience".into(), user_experience);
    out.insert("debugMode".into(), debug_mode);
    for (key, value) in &input {
        if !REBUILT_KEYS.contains(&key.as_str()) {
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert("cbiUrl".into(), json!(customer.isolation_url(id)));
    out.insert("href".into(), json!(format!("{}/{id}", zpa_wire::paths::cbi_profiles(&customer.id))));
    let creation_time = previous("creationTime").unwrap_or_else(|| json!(now.to_string()));
    out.insert("creationTime".into(), creation_time);
    if existing.is_some() {
        out.insert("modifiedTime".into(), json!(now.to_string()));
    }
    out.insert("modifiedBy".into(), json!(customer.admin_id));
    Ok(out)
}

fn check_security_controls(controls: &Value) -> Result<(), ApiError> {
    let text = |key: &str| controls.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let copy_paste = text("copyPaste");
    if !COPY_PASTE.contains(&copy_paste.as_str()) {
        return Err(ApiError::invalid_argument(
            "securityControls.copyPaste",
            format!("copyPaste must be one of none, all; got '{copy_paste}'."),
        ));
    }
    let upload_download = text("uploadDownload");
    if !UPLOAD_DOWNLOAD.contains(&upload_download.as_str()) {
        return Err(ApiError::invalid_argument(
            "securityControls.uploadDownload",
            format!("uploadDownload must be one of none, all, upstream; got '{upload_download}'."),
        ));
    }
    let flattened = controls.get("flattenedPdf").and_then(Value::as_bool).unwrap_or(false);
    if flattened && upload_download == "all" {
        return Err(ApiError::invalid_argument(
            "securityControls.flattenedPdf",
            "flattenedPdf requires uploadDownload to be none or upstream.",
        ));
    }
    Ok(())
}

/// Rules the admin portal enforces (facts §1.2, help.zscaler.com "Creating
/// Isolation Profiles for Private Applications"): allowing debug mode needs a
/// file password, and camera and microphone need Turbo Mode (`zgpu`). No
/// recorded API answer shows them; refused the way the API refuses other
/// invalid fields, naming the field in `params`.
fn check_ui_rules(controls: &Value, experience: &Value, debug: &Value) -> Result<(), ApiError> {
    let flag = |value: &Value, key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
    let password = debug.get("filePassword").and_then(Value::as_str).unwrap_or_default();
    if flag(debug, "allowed") && password.is_empty() {
        return Err(ApiError::invalid_argument(
            "debugMode.filePassword",
            "A file password is required when debug mode is allowed.",
        ));
    }
    if flag(controls, "cameraAndMic") && !flag(experience, "zgpu") {
        return Err(ApiError::invalid_argument(
            "securityControls.cameraAndMic",
            "Camera and microphone need Turbo Mode (userExperience.zgpu).",
        ));
    }
    Ok(())
}

fn duplicate_name(name: &str) -> ApiError {
    ApiError::bad_request(ids::RESOURCE_ALREADY_EXISTS, format!("An isolation profile named '{name}' already exists."))
        .with_params(vec![name.to_owned()])
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Isolation profile '{id}' not found.")).with_params(vec![id.to_owned()])
}

/// Whether a second profile with a name already used in its scope is refused.
/// The tenant accepts it: no source shows a duplicate-name refusal for CBI
/// profiles, and a recorded tenant holds near-identical names (facts §2, §7.1,
/// §9). The refusal is an opt-in (`--refuse-duplicate-profile-names`), never
/// the default: it would hide an operator that creates twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Names {
    pub refuse_duplicates: bool,
}

/// `POST .../profiles`: returns the new id.
pub fn create(
    customer: &mut Customer,
    scope: &str,
    input: Object,
    zpa_id: String,
    now: u64,
    names: Names,
) -> Result<String, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let body = normalise(customer, input, &id, None, now, Mode::Strict)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    if names.refuse_duplicates && customer.profiles.other_named(scope, &name, &id).is_some() {
        return Err(duplicate_name(&name));
    }
    let is_default = body.get("isDefault").and_then(Value::as_bool).unwrap_or(false);
    customer.profiles.insert(StoredProfile {
        seq: 0,
        scope: scope.to_owned(),
        body,
        zpa_id,
        zpa_creation_time: now.to_string(),
        zpa_modified_time: None,
        in_use: false,
    });
    if is_default {
        customer.profiles.clear_other_defaults(scope, &id);
    }
    Ok(id)
}

/// `PUT .../profiles/{id}`: returns the stored object.
pub fn update(
    customer: &mut Customer,
    scope: &str,
    id: &str,
    input: Object,
    now: u64,
    names: Names,
) -> Result<Object, ApiError> {
    let existing = customer.profiles.get_in_scope(id, scope).ok_or_else(|| not_found(id))?;
    let body = normalise(customer, input, id, Some(Existing { body: &existing.body }), now, Mode::Strict)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    if names.refuse_duplicates && customer.profiles.other_named(scope, &name, id).is_some() {
        return Err(duplicate_name(&name));
    }
    store(customer, scope, id, body, now)
}

fn store(customer: &mut Customer, scope: &str, id: &str, body: Object, now: u64) -> Result<Object, ApiError> {
    let is_default = body.get("isDefault").and_then(Value::as_bool).unwrap_or(false);
    let stored = customer
        .profiles
        .set_body(id, body, Some(now.to_string()))
        .map(|p| p.body.clone())
        .ok_or_else(|| not_found(id))?;
    if is_default {
        customer.profiles.clear_other_defaults(scope, id);
    }
    Ok(stored)
}

/// `DELETE .../profiles/{id}`.
pub fn delete(customer: &mut Customer, scope: &str, id: &str) -> Result<(), ApiError> {
    let profile = customer.profiles.get_in_scope(id, scope).ok_or_else(|| not_found(id))?;
    if profile.is_default() {
        return Err(ApiError::bad_request(
            ids::DEFAULT_PROFILE_DELETE,
            "The default isolation profile cannot be deleted.",
        ));
    }
    if profile.in_use {
        return Err(ApiError::bad_request(
            ids::RESOURCE_IN_USE,
            format!(
                "Isolation profile '{}' is in use by an isolation policy rule and cannot be deleted.",
                profile.name()
            ),
        )
        .with_params(vec![id.to_owned()]));
    }
    customer.profiles.remove(id);
    Ok(())
}

/// Drift: a JSON merge patch (RFC 7386) applied behind the client's back.
pub fn patch(customer: &mut Customer, id: &str, patch: &Value, now: u64) -> Result<Object, ApiError> {
    let existing = customer.profiles.get(id).ok_or_else(|| not_found(id))?;
    let scope = existing.scope.clone();
    let mut merged = Value::Object(existing.body.clone());
    merge_patch(&mut merged, patch);
    let Value::Object(merged) = merged else {
        return Err(ApiError::malformed("The patch must be a JSON object."));
    };
    // Drift may give a profile the name of another: the tenant allows it.
    let body = normalise(customer, merged, id, Some(Existing { body: &existing.body }), now, Mode::Lenient)?;
    store(customer, &scope, id, body, now)
}

/// `GET .../cbiconfig/.../zpaprofiles` item (CBI key style).
pub fn zpa_cbi_view(customer: &Customer, profile: &StoredProfile) -> Value {
    let mut out = Object::new();
    out.insert("id".into(), json!(profile.zpa_id));
    out.insert("name".into(), json!(profile.name()));
    if let Some(description) = profile.body.get("description") {
        out.insert("description".into(), description.clone());
    }
    out.insert("enabled".into(), json!(profile.enabled()));
    out.insert("creationTime".into(), json!(profile.zpa_creation_time));
    if let Some(modified) = &profile.zpa_modified_time {
        out.insert("modifiedTime".into(), json!(modified));
    }
    out.insert("modifiedBy".into(), json!(customer.admin_id));
    out.insert("cbiTenantId".into(), json!(customer.cbi_tenant_id));
    out.insert("cbiProfileId".into(), json!(profile.id()));
    out.insert("cbiUrl".into(), json!(customer.isolation_url(profile.id())));
    Value::Object(out)
}

/// `GET /mgmtconfig/.../isolation/profiles` item (mgmt key style).
pub fn zpa_mgmt_view(customer: &Customer, profile: &StoredProfile) -> Value {
    let mut out = Object::new();
    out.insert("id".into(), json!(profile.zpa_id));
    out.insert("name".into(), json!(profile.name()));
    if let Some(description) = profile.body.get("description") {
        out.insert("description".into(), description.clone());
    }
    out.insert("enabled".into(), json!(profile.enabled()));
    out.insert("creationTime".into(), json!(profile.zpa_creation_time));
    if let Some(modified) = &profile.zpa_modified_time {
        out.insert("modifiedTime".into(), json!(modified));
    }
    out.insert("modifiedBy".into(), json!(customer.admin_id));
    out.insert("isolationTenantId".into(), json!(customer.cbi_tenant_id));
    out.insert("isolationProfileId".into(), json!(profile.id()));
    out.insert("isolationUrl".into(), json!(customer.isolation_url(profile.id())));
    if profile.scope != DEFAULT_SCOPE {
        out.insert("microtenantId".into(), json!(profile.scope));
        if let Some(name) = customer.microtenants.name_of(&profile.scope) {
            out.insert("microtenantName".into(), json!(name));
        }
    }
    Value::Object(out)
}

/// Seeds the tenant's default profile (bypasses the API rules on purpose).
pub fn seed_default(customer: &mut Customer, name: &str, region_ids: &[String], zpa_id: String, now: u64) {
    let id = uuid::Uuid::new_v4().to_string();
    let input = json!({
        "name": name,
        "description": "Default isolation profile",
        "isDefault": true,
        "regionIds": region_ids,
    });
    let Value::Object(input) = input else { return };
    if let Ok(body) = normalise(customer, input, &id, None, now, Mode::Strict) {
        customer.profiles.insert(StoredProfile {
            seq: 0,
            scope: DEFAULT_SCOPE.to_owned(),
            body,
            zpa_id,
            zpa_creation_time: now.to_string(),
            zpa_modified_time: None,
            in_use: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    fn customer() -> Customer {
        seed::customer(72_057_594_037_927_936, "zscaler", &seed::default_auth_domains(), Some(".example.com"))
    }

    fn regions(c: &Customer, n: usize) -> Vec<String> {
        c.regions.iter().take(n).map(|r| r.id.clone()).collect()
    }

    fn body(value: Value) -> Object {
        match value {
            Value::Object(map) => map,
            _ => Object::new(),
        }
    }

    fn try_create(c: &mut Customer, value: Value) -> Result<String, ApiError> {
        create(c, DEFAULT_SCOPE, body(value), "1".into(), 1_700_000_000, Names::default())
    }

    #[test]
    fn create_stores_object_forms_sorted_and_keeps_unknown_fields() {
        let mut c = customer();
        let mut ids = regions(&c, 3);
        ids.reverse();
        let id = try_create(&mut c, json!({"name": "p", "regionIds": ids, "futureField": {"x": 1}})).unwrap();
        let stored = &c.profiles.get(&id).unwrap().body;
        assert!(stored.get("regionIds").is_none());
        let names: Vec<&str> =
            stored["regions"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(stored["futureField"]["x"], 1);
        assert_eq!(stored["banner"]["name"], "Default");
        assert_eq!(stored["certificates"][0]["name"], "Zscaler Root Certificate");
        assert_eq!(stored["securityControls"]["documentViewer"], true);
        assert!(stored.get("modifiedTime").is_none());
    }

    #[test]
    fn validation_errors() {
        let mut c = customer();
        let two = regions(&c, 2);
        let cases = [
            (json!({"regionIds": two}), "name"),
            (json!({"name": "p", "regionIds": [two[0]]}), "regionIds"),
            (json!({"name": "p", "regionIds": [two[0], "nope"]}), "regionIds"),
            (json!({"name": "p", "regionIds": two, "certificateIds": ["nope"]}), "certificateIds"),
            (json!({"name": "p", "regionIds": two, "bannerId": "nope"}), "bannerId"),
            (
                json!({"name": "p", "regionIds": two, "securityControls": {"copyPaste": "some"}}),
                "securityControls.copyPaste",
            ),
            (
                json!({"name": "p", "regionIds": two, "securityControls": {"uploadDownload": "x"}}),
                "securityControls.uploadDownload",
            ),
            (
                json!({"name": "p", "regionIds": two, "securityControls": {"uploadDownload": "all", "flattenedPdf": true}}),
                "securityControls.flattenedPdf",
            ),
        ];
        for (input, field) in cases {
            let err = try_create(&mut c, input.clone()).unwrap_err();
            assert_eq!(err.id(), ids::INVALID_ARGUMENT, "{input}");
            assert_eq!(err.body.params.as_ref().unwrap()[0], field, "{input}");
        }
        let err = try_create(&mut c, json!({"name": 5})).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn duplicate_names_are_accepted_unless_the_refusal_is_switched_on() {
        let mut c = customer();
        let two = regions(&c, 2);
        let first = try_create(&mut c, json!({"name": "Dup", "regionIds": two})).unwrap();
        let second = try_create(&mut c, json!({"name": "dup", "regionIds": two})).unwrap();
        assert_ne!(first, second, "two profiles, one name");
        let refuse = Names { refuse_duplicates: true };
        let err = create(&mut c, DEFAULT_SCOPE, body(json!({"name": "DUP", "regionIds": two})), "2".into(), 1, refuse)
            .unwrap_err();
        assert_eq!(err.id(), ids::RESOURCE_ALREADY_EXISTS);
        let other = try_create(&mut c, json!({"name": "other", "regionIds": two})).unwrap();
        let renamed = body(json!({"name": "Dup", "regionIds": two}));
        assert_eq!(
            update(&mut c, DEFAULT_SCOPE, &other, renamed.clone(), 2, refuse).unwrap_err().id(),
            ids::RESOURCE_ALREADY_EXISTS
        );
        update(&mut c, DEFAULT_SCOPE, &other, renamed, 2, Names::default()).unwrap();
    }

    #[test]
    fn the_root_certificate_is_always_applied() {
        let mut c = customer();
        let two = regions(&c, 2);
        let custom = c.certificates.iter().find(|cert| cert.is_default != Some(true)).unwrap().id.clone();
        let id = try_create(&mut c, json!({"name": "p", "regionIds": two, "certificateIds": [custom]})).unwrap();
        let certs = |c: &Customer| -> Vec<String> {
            c.profiles.get(&id).unwrap().body["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|cert| cert["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(certs(&c), vec![seed::ROOT_CERTIFICATE_ID.to_owned(), custom.clone()]);
        let put = body(json!({"name": "p", "regionIds": two, "certificates": [{"id": custom}], "certificateIds": []}));
        update(&mut c, DEFAULT_SCOPE, &id, put, 2, Names::default()).unwrap();
        assert_eq!(certs(&c), vec![seed::ROOT_CERTIFICATE_ID.to_owned(), custom.clone()], "a PUT cannot drop it");
        patch(&mut c, &id, &json!({"certificates": []}), 3).unwrap();
        assert_eq!(certs(&c), vec![seed::ROOT_CERTIFICATE_ID.to_owned()], "nor can drift");
    }

    #[test]
    fn debug_mode_needs_a_password_and_camera_needs_turbo_mode() {
        let mut c = customer();
        let two = regions(&c, 2);
        let cases = [
            (json!({"debugMode": {"allowed": true}}), Some("debugMode.filePassword")),
            (json!({"debugMode": {"allowed": true, "filePassword": ""}}), Some("debugMode.filePassword")),
            (json!({"debugMode": {"allowed": true, "filePassword": "x"}}), None),
            (json!({"debugMode": {"allowed": false}}), None),
            (json!({"securityControls": {"cameraAndMic": true}}), Some("securityControls.cameraAndMic")),
            (
                json!({"securityControls": {"cameraAndMic": true}, "userExperience": {"zgpu": false}}),
                Some("securityControls.cameraAndMic"),
            ),
            (json!({"securityControls": {"cameraAndMic": true}, "userExperience": {"zgpu": true}}), None),
        ];
        for (extra, refused) in cases {
            let mut input = json!({"name": "rules", "regionIds": two});
            input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            match (try_create(&mut c, input.clone()), refused) {
                (Err(err), Some(field)) => {
                    assert_eq!(err.id(), ids::INVALID_ARGUMENT, "{input}");
                    assert_eq!(err.body.params.as_ref().unwrap()[0], field, "{input}");
                }
                (Ok(_), None) => {}
                (other, _) => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn default_profile_cannot_be_deleted_and_defaults_move() {
        let mut c = customer();
        let default_id = c.profiles.all().find(|p| p.is_default()).unwrap().id().to_owned();
        assert_eq!(delete(&mut c, DEFAULT_SCOPE, &default_id).unwrap_err().id(), ids::DEFAULT_PROFILE_DELETE);
        let two = regions(&c, 2);
        let id = try_create(&mut c, json!({"name": "new default", "regionIds": two, "isDefault": true})).unwrap();
        assert!(!c.profiles.get(&default_id).unwrap().is_default());
        assert!(c.profiles.get(&id).unwrap().is_default());
        assert!(delete(&mut c, DEFAULT_SCOPE, &default_id).is_ok());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut target, &json!({"a": null, "b": {"c": 9}, "e": [1]}));
        assert_eq!(target, json!({"b": {"c": 9, "d": 3}, "e": [1]}));
    }

    #[test]
    fn fill_missing_keeps_given_values() {
        let filled = fill_missing(
            Some(&json!({"copyPaste": "all", "watermark": {"enabled": true}})),
            default_security_controls(),
        );
        assert_eq!(filled["copyPaste"], "all");
        assert_eq!(filled["watermark"]["enabled"], true);
        assert_eq!(filled["watermark"]["showUserId"], false);
        assert_eq!(filled["uploadDownload"], "none");
    }
}
