//! IsolationProfile: desired state from the spec, the wire bodies to send,
//! and the status view of what ZPA holds. Pure.

use serde_json::{Value, json};

use super::diff::{FieldChange, overlay, strip_nulls};
use super::error::ReconcileError;
use super::plan::{ReconcileKind, wire_body, wire_json};
use crate::crd::{
    IsolationProfileObservation, IsolationProfileSpec, NamedId, SecurityControlsSpec, UserExperienceSpec,
};
use crate::secret::SecretString;
use crate::wire::cbi::{CbiProfile, NamedRef, ROOT_CERTIFICATE_ID, ROOT_CERTIFICATE_NAME};

/// The spec's references turned into ids (and the debug password read from its Secret).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedReferences {
    pub region_ids: Vec<String>,
    pub certificate_ids: Option<Vec<String>>,
    pub banner_id: Option<String>,
    pub debug_file_password: Option<SecretString>,
}

/// An IsolationProfile ready to compare and send.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredProfile {
    pub name: String,
    pub region_ids: Vec<String>,
    pub certificate_ids: Option<Vec<String>>,
    pub banner_id: Option<String>,
    pub debug_file_password: Option<SecretString>,
    /// The other managed fields in wire form: description, isDefault,
    /// securityControls, userExperience, debugMode.allowed.
    pub fields: Value,
}

impl DesiredProfile {
    pub fn new(name: &str, spec: &IsolationProfileSpec, refs: ResolvedReferences) -> Self {
        let mut region_ids = refs.region_ids;
        region_ids.sort();
        region_ids.dedup();
        let fields = json!({
            "description": spec.description,
            "isDefault": spec.is_default,
            "securityControls": spec.security_controls,
            "userExperience": spec.user_experience,
            "debugMode": spec.debug_mode.as_ref().map(|d| json!({"allowed": d.allowed})),
        });
        Self {
            name: name.to_owned(),
            region_ids,
            certificate_ids: refs.certificate_ids,
            banner_id: refs.banner_id,
            debug_file_password: refs.debug_file_password,
            fields,
        }
    }
}

pub struct IsolationProfileKind;

impl ReconcileKind for IsolationProfileKind {
    const KIND: &'static str = "IsolationProfile";
    type Desired = DesiredProfile;
    type Remote = CbiProfile;

    fn desired_name(desired: &DesiredProfile) -> &str {
        &desired.name
    }

    /// The Zscaler Root Certificate is left out of the compared certificates
    /// (see [`is_root_certificate`]).
    fn managed_json(desired: &DesiredProfile) -> Value {
        let mut managed = desired.fields.clone();
        managed["name"] = json!(desired.name);
        managed["regionIds"] = json!(desired.region_ids);
        managed["certificateIds"] = json!(
            desired.certificate_ids.as_ref().map(|ids| ids.iter().filter(|id| !is_root_id(id)).collect::<Vec<_>>())
        );
        managed["bannerId"] = json!(desired.banner_id);
        managed
    }

    /// GET returns reference objects and may omit the id arrays: compare ids
    /// from whichever form is there. The root certificate, always applied by
    /// the tenant, is not compared.
    fn observed_json(remote: &CbiProfile) -> Result<Value, ReconcileError> {
        let mut observed = wire_json(remote)?;
        observed["regionIds"] = json!(remote.effective_region_ids());
        let roots: Vec<&str> = remote
            .certificates
            .iter()
            .flatten()
            .filter(|c| is_root_certificate(&c.id, c.name.as_deref()))
            .map(|c| c.id.as_str())
            .collect();
        let certificates: Vec<String> = remote
            .effective_certificate_ids()
            .into_iter()
            .filter(|id| !is_root_id(id) && !roots.contains(&id.as_str()))
            .collect();
        observed["certificateIds"] = json!(certificates);
        observed["bannerId"] = json!(remote.effective_banner_id());
        Ok(observed)
    }

    /// The debug password is compared only when ZPA returns it.
    fn secret_changes(desired: &DesiredProfile, remote: &CbiProfile) -> Vec<FieldChange> {
        let observed = remote.debug_mode.as_ref().and_then(|d| d.file_password.as_ref()).filter(|p| !p.is_empty());
        match (&desired.debug_file_password, observed) {
            (Some(want), Some(have)) if want != have => vec![FieldChange {
                path: "debugMode.filePassword".into(),
                from: json!(crate::secret::REDACTED),
                to: json!(crate::secret::REDACTED),
            }],
            _ => Vec::new(),
        }
    }

    /// Create sends the id forms only (as the Terraform provider does), the
    /// certificates as the spec lists them (the tenant adds its root).
    fn create_body(desired: &DesiredProfile) -> Result<CbiProfile, ReconcileError> {
        let mut body = strip_nulls(&Self::managed_json(desired));
        if let Some(ids) = &desired.certificate_ids {
            body["certificateIds"] = json!(ids);
        }
        set_password(&mut body, desired);
        wire_body(Self::KIND, body)
    }

    /// Update sends both reference forms, over the last read.
    fn update_body(desired: &DesiredProfile, remote: &CbiProfile) -> Result<CbiProfile, ReconcileError> {
        let mut body = wire_json(remote)?;
        overlay(&mut body, &Self::managed_json(desired));
        body["regions"] = refs(&desired.region_ids);
        if let Some(ids) = &desired.certificate_ids {
            body["certificateIds"] = json!(ids);
            body["certificates"] = refs(ids);
        }
        if let Some(id) = &desired.banner_id {
            body["banner"] = json!({"id": id});
        }
        set_password(&mut body, desired);
        wire_body(Self::KIND, body)
    }

    fn tenant_default(_: &str, remote: Option<&CbiProfile>) -> Option<&'static str> {
        remote.filter(|r| is_default_profile(r)).map(|_| "its scope's default isolation profile")
    }
}

/// Whether a certificate is the Zscaler Root Certificate, which the tenant
/// applies to every profile and which cannot be removed: its id, or its name
/// should a tenant give it another id.
pub fn is_root_certificate(id: &str, name: Option<&str>) -> bool {
    is_root_id(id) || name.is_some_and(|n| n.eq_ignore_ascii_case(ROOT_CERTIFICATE_NAME))
}

fn is_root_id(id: &str) -> bool {
    id == ROOT_CERTIFICATE_ID
}

/// Whether ZPA holds this profile as its scope's default isolation profile
/// (`isDefault`). Default profiles are made by ZPA and cannot be deleted, only
/// edited (help.zscaler.com, Default Isolation Profiles): the delete path must
/// not try.
pub fn is_default_profile(remote: &CbiProfile) -> bool {
    remote.is_default == Some(true)
}

fn refs(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"id": id})).collect())
}

fn set_password(body: &mut Value, desired: &DesiredProfile) {
    if let (Some(password), Some(debug)) = (&desired.debug_file_password, body.get_mut("debugMode")) {
        debug["filePassword"] = json!(password.expose());
    }
}

/// What `status.atProvider` shows: the server's view of the managed fields.
pub fn observation(remote: &CbiProfile) -> IsolationProfileObservation {
    let named = |refs: &Option<Vec<NamedRef>>, ids: Vec<String>| -> Vec<NamedId> {
        let mut out: Vec<NamedId> = match refs {
            Some(objects) if !objects.is_empty() => {
                objects.iter().map(|o| NamedId { id: o.id.clone(), name: o.name.clone() }).collect()
            }
            _ => ids.into_iter().map(|id| NamedId { id, name: None }).collect(),
        };
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        out
    };
    IsolationProfileObservation {
        name: remote.name.clone(),
        description: remote.description.clone().filter(|d| !d.is_empty()),
        regions: named(&remote.regions, remote.effective_region_ids()),
        certificates: named(&remote.certificates, remote.effective_certificate_ids()),
        banner: remote
            .effective_banner_id()
            .map(|id| NamedId { name: remote.banner.as_ref().filter(|b| b.id == id).and_then(|b| b.name.clone()), id }),
        is_default: remote.is_default,
        security_controls: remote.security_controls.as_ref().and_then(security_controls_view),
        user_experience: remote.user_experience.as_ref().and_then(user_experience_view),
        debug_mode_allowed: remote.debug_mode.as_ref().and_then(|d| d.allowed),
        cbi_url: remote.cbi_url.clone(),
    }
}

/// Wire to spec shape. Values outside the spec's enums (a newer API) are
/// left out of the view rather than failing it.
fn security_controls_view(wire: &crate::wire::cbi::SecurityControls) -> Option<SecurityControlsSpec> {
    let mut value = serde_json::to_value(wire).ok()?;
    let known = [("copyPaste", &["none", "all"][..]), ("uploadDownload", &["none", "all", "upstream"][..])];
    for (field, allowed) in known {
        if value.get(field).and_then(Value::as_str).is_some_and(|v| !allowed.contains(&v)) {
            value.as_object_mut()?.remove(field);
        }
    }
    serde_json::from_value(value).ok()
}

fn user_experience_view(wire: &crate::wire::cbi::UserExperience) -> Option<UserExperienceSpec> {
    serde_json::to_value(wire).ok().and_then(|v| serde_json::from_value(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{CopyPaste, DebugModeSpec, ManagementPolicy, UploadDownload, WatermarkSpec};
    use crate::reconcile::plan::{Plan, plan};

    fn spec() -> IsolationProfileSpec {
        IsolationProfileSpec {
            regions: vec!["Frankfurt".into(), "London".into()],
            description: Some("web isolation".into()),
            security_controls: Some(SecurityControlsSpec {
                copy_paste: Some(CopyPaste::None),
                upload_download: Some(UploadDownload::Upstream),
                allow_printing: Some(false),
                watermark: Some(WatermarkSpec {
                    enabled: Some(true),
                    message: Some("internal".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn refs() -> ResolvedReferences {
        ResolvedReferences {
            region_ids: vec!["r-lon".into(), "r-fra".into()],
            banner_id: Some("b1".into()),
            ..Default::default()
        }
    }

    fn desired() -> DesiredProfile {
        DesiredProfile::new("web", &spec(), refs())
    }

    /// What the API returns for the desired profile: object forms, other order, server fields.
    fn remote_in_sync() -> CbiProfile {
        serde_json::from_value(json!({
            "id": "u1", "name": "web", "description": "web isolation", "cbiUrl": "https://x",
            "regions": [{"id": "r-fra", "name": "Frankfurt"}, {"id": "r-lon", "name": "London"}],
            "banner": {"id": "b1", "name": "Default"},
            "certificates": [{"id": "c-root", "name": "Zscaler Root Certificate"}],
            "securityControls": {"copyPaste": "none", "uploadDownload": "upstream", "documentViewer": true,
                "watermark": {"enabled": true, "message": "internal"}},
            "userExperience": {"browserInBrowser": true},
            "serverOnly": 42
        }))
        .unwrap()
    }

    fn edit(f: impl FnOnce(&mut Value)) -> CbiProfile {
        let mut value = serde_json::to_value(remote_in_sync()).unwrap();
        f(&mut value);
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn each_field_change_is_an_update_with_exactly_that_change() {
        let cases: Vec<(&str, CbiProfile, Vec<&str>)> = vec![
            ("in sync", remote_in_sync(), vec![]),
            ("renamed remotely", edit(|v| v["name"] = json!("other")), vec!["name"]),
            ("description", edit(|v| v["description"] = json!("changed")), vec!["description"]),
            (
                "description removed",
                edit(|v| v.as_object_mut().unwrap().remove("description").map(|_| ()).unwrap()),
                vec!["description"],
            ),
            ("region swapped", edit(|v| v["regions"][1]["id"] = json!("r-tok")), vec!["regionIds"]),
            ("region order only", edit(|v| v["regions"].as_array_mut().unwrap().reverse()), vec![]),
            (
                "id form instead of objects",
                edit(|v| {
                    v["regionIds"] = json!(["r-lon", "r-fra"]);
                    v.as_object_mut().unwrap().remove("regions");
                }),
                vec![],
            ),
            ("banner", edit(|v| v["banner"] = json!({"id": "b2"})), vec!["bannerId"]),
            (
                "copyPaste",
                edit(|v| v["securityControls"]["copyPaste"] = json!("all")),
                vec!["securityControls.copyPaste"],
            ),
            (
                "printing turned on",
                edit(|v| v["securityControls"]["allowPrinting"] = json!(true)),
                vec!["securityControls.allowPrinting"],
            ),
            ("unmanaged documentViewer", edit(|v| v["securityControls"]["documentViewer"] = json!(false)), vec![]),
            (
                "watermark message",
                edit(|v| v["securityControls"]["watermark"]["message"] = json!("x")),
                vec!["securityControls.watermark.message"],
            ),
            ("unmanaged certificates", edit(|v| v["certificates"] = json!([])), vec![]),
            ("unmanaged server field", edit(|v| v["serverOnly"] = json!(43)), vec![]),
        ];
        for (name, remote, want) in cases {
            let got = plan::<IsolationProfileKind>(&desired(), Some(&remote), ManagementPolicy::Manage).unwrap();
            let paths: Vec<&str> = got.changes().iter().map(|c| c.path.as_str()).collect();
            assert_eq!(paths, want, "{name}");
            assert_eq!(matches!(got, Plan::InSync), want.is_empty(), "{name}: {got:?}");
        }
    }

    /// ZPA adds the Zscaler Root Certificate to every profile and it cannot be
    /// removed: listing it or not makes no difference to the comparison.
    #[test]
    fn the_root_certificate_is_always_there() {
        let with_certs = |ids: Option<Vec<&str>>| {
            DesiredProfile::new(
                "web",
                &spec(),
                ResolvedReferences {
                    certificate_ids: ids.map(|v| v.into_iter().map(String::from).collect()),
                    ..refs()
                },
            )
        };
        let root = json!({"id": ROOT_CERTIFICATE_ID, "name": "Zscaler Root Certificate", "isDefault": true});
        let custom = json!({"id": "c-corp", "name": "Corporate Root CA"});
        let held = |certs: Value| edit(|v| v["certificates"] = certs);
        let renamed_root = json!({"id": "other-root-id", "name": "zscaler root certificate"});
        let cases: Vec<(&str, Option<Vec<&str>>, CbiProfile, bool)> = vec![
            ("spec leaves the root out", Some(vec!["c-corp"]), held(json!([root, custom])), true),
            ("spec lists the root too", Some(vec![ROOT_CERTIFICATE_ID, "c-corp"]), held(json!([root, custom])), true),
            ("only the root, spec empty", Some(vec![]), held(json!([root])), true),
            ("only the root, spec names it", Some(vec![ROOT_CERTIFICATE_ID]), held(json!([root])), true),
            ("the root under another id", Some(vec!["c-corp"]), held(json!([renamed_root, custom])), true),
            ("custom missing", Some(vec!["c-corp"]), held(json!([root])), false),
            ("an extra custom one", Some(vec![]), held(json!([root, custom])), false),
            ("unmanaged", None, held(json!([custom])), true),
        ];
        for (name, ids, remote, in_sync) in cases {
            let got = plan::<IsolationProfileKind>(&with_certs(ids), Some(&remote), ManagementPolicy::Manage).unwrap();
            assert_eq!(matches!(got, Plan::InSync), in_sync, "{name}: {got:?}");
            if !in_sync {
                let paths: Vec<&str> = got.changes().iter().map(|c| c.path.as_str()).collect();
                assert_eq!(paths, ["certificateIds"], "{name}");
            }
        }
    }

    #[test]
    fn a_default_profile_is_recognised() {
        assert!(!is_default_profile(&remote_in_sync()));
        assert!(is_default_profile(&edit(|v| v["isDefault"] = json!(true))));
        assert!(!is_default_profile(&edit(|v| v["isDefault"] = json!(false))));
    }

    #[test]
    fn missing_remote_is_a_create_with_id_forms() {
        match plan::<IsolationProfileKind>(&desired(), None, ManagementPolicy::Manage).unwrap() {
            Plan::Create { body } => {
                assert_eq!(body.name, "web");
                assert_eq!(body.region_ids, Some(vec!["r-fra".to_owned(), "r-lon".to_owned()]));
                assert_eq!(body.banner_id.as_deref(), Some("b1"));
                assert!(body.regions.is_none(), "create sends id forms only");
                assert!(body.certificate_ids.is_none(), "unmanaged certificates are not sent");
                let sc = body.security_controls.unwrap();
                assert_eq!(sc.copy_paste.as_deref(), Some("none"));
                assert_eq!(sc.allow_printing, Some(false));
                assert!(sc.local_render.is_none());
            }
            other => panic!("expected create, got {other:?}"),
        }
    }

    #[test]
    fn update_body_is_the_last_read_with_managed_fields_over_it() {
        let remote = edit(|v| v["securityControls"]["copyPaste"] = json!("all"));
        let body = IsolationProfileKind::update_body(&desired(), &remote).unwrap();
        let sent = serde_json::to_value(&body).unwrap();
        assert_eq!(sent["serverOnly"], 42, "unknown server fields survive");
        assert_eq!(sent["securityControls"]["documentViewer"], true, "unmanaged nested fields survive");
        assert_eq!(sent["securityControls"]["copyPaste"], "none");
        assert_eq!(sent["regionIds"], json!(["r-fra", "r-lon"]));
        assert_eq!(sent["regions"], json!([{"id": "r-fra"}, {"id": "r-lon"}]), "both reference forms");
        assert_eq!(sent["banner"], json!({"id": "b1"}));
        assert_eq!(sent["certificates"][0]["id"], "c-root", "unmanaged certificates untouched");
    }

    #[test]
    fn observe_only_reports_drift_and_never_plans_a_write() {
        let remote = edit(|v| v["description"] = json!("changed"));
        let got = plan::<IsolationProfileKind>(&desired(), Some(&remote), ManagementPolicy::ObserveOnly).unwrap();
        assert!(matches!(got, Plan::Drift { ref changes } if changes.len() == 1), "{got:?}");
        let in_sync =
            plan::<IsolationProfileKind>(&desired(), Some(&remote_in_sync()), ManagementPolicy::ObserveOnly).unwrap();
        assert_eq!(in_sync, Plan::InSync);
        assert!(plan::<IsolationProfileKind>(&desired(), None, ManagementPolicy::ObserveOnly).is_err());
    }

    #[test]
    fn debug_password_goes_out_but_never_shows() {
        let mut spec = spec();
        spec.debug_mode = Some(DebugModeSpec { allowed: true, file_password_secret_ref: None });
        let desired = DesiredProfile::new(
            "web",
            &spec,
            ResolvedReferences { debug_file_password: Some("s3cret".into()), ..refs() },
        );
        let Plan::Create { body } = plan::<IsolationProfileKind>(&desired, None, ManagementPolicy::Manage).unwrap()
        else {
            panic!("expected create")
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap()["debugMode"],
            json!({"allowed": true, "filePassword": "s3cret"})
        );
        let remote = edit(|v| v["debugMode"] = json!({"allowed": true, "filePassword": "old"}));
        let changes = plan::<IsolationProfileKind>(&desired, Some(&remote), ManagementPolicy::Manage).unwrap();
        let shown: Vec<String> = changes.changes().iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, vec!["debugMode.filePassword: \"***\" -> \"***\""]);
    }

    /// Bodies are built from the operator's own JSON; when that does not
    /// decode (a bug), the answer is an Internal error, never an empty body.
    #[test]
    fn a_body_the_operator_cannot_build_is_an_internal_error() {
        let mut broken = desired();
        broken.fields["isDefault"] = json!("yes");
        let create = plan::<IsolationProfileKind>(&broken, None, ManagementPolicy::Manage).unwrap_err();
        let update = IsolationProfileKind::update_body(&broken, &remote_in_sync()).unwrap_err();
        for error in [create, update] {
            assert_eq!(error.reason(), crate::reconcile::Reason::Internal, "{error}");
            assert!(error.to_string().contains("cannot build the IsolationProfile request body"), "{error}");
        }
    }

    #[test]
    fn observation_uses_names_and_tolerates_unknown_enum_values() {
        let remote = edit(|v| v["securityControls"]["copyPaste"] = json!("some-future-mode"));
        let seen = observation(&remote);
        assert_eq!(
            seen.regions.iter().map(|r| r.name.as_deref().unwrap()).collect::<Vec<_>>(),
            vec!["Frankfurt", "London"]
        );
        assert_eq!(seen.banner.unwrap().name.as_deref(), Some("Default"));
        let controls = seen.security_controls.unwrap();
        assert_eq!(controls.copy_paste, None);
        assert_eq!(controls.upload_download, Some(UploadDownload::Upstream));
    }
}
