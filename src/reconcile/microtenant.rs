//! Microtenant: desired state from the spec, wire bodies, status view. Pure.

use serde_json::{Value, json};

use super::diff::{overlay, strip_nulls};
use super::error::ReconcileError;
use super::plan::{ReconcileKind, wire_body, wire_json};
use crate::crd::{CriteriaAttribute, MicrotenantObservation, MicrotenantSpec};
use crate::wire::mgmt::MgmtMicrotenant;
use crate::zpa::Scope;

/// A Microtenant ready to compare and send.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredMicrotenant {
    pub name: String,
    /// Managed fields in wire form (name excluded).
    pub fields: Value,
}

impl DesiredMicrotenant {
    pub fn new(name: &str, spec: &MicrotenantSpec) -> Self {
        let fields = json!({
            "description": spec.description,
            "enabled": spec.enabled,
            "criteriaAttribute": spec.criteria_attribute.map(CriteriaAttribute::as_str),
            "criteriaAttributeValues": spec.criteria_attribute_values,
            "privilegedApprovalsEnabled": spec.privileged_approvals_enabled,
        });
        Self { name: name.to_owned(), fields }
    }
}

/// Fields ZPA computes and never accepts back in a meaningful way; `user`
/// in particular carries the one-time password and must never be sent.
const NEVER_SENT: [&str; 1] = ["user"];

pub struct MicrotenantKind;

impl ReconcileKind for MicrotenantKind {
    const KIND: &'static str = "Microtenant";
    type Desired = DesiredMicrotenant;
    type Remote = MgmtMicrotenant;

    fn desired_name(desired: &DesiredMicrotenant) -> &str {
        &desired.name
    }

    fn managed_json(desired: &DesiredMicrotenant) -> Value {
        let mut managed = desired.fields.clone();
        managed["name"] = json!(desired.name);
        managed
    }

    fn observed_json(remote: &MgmtMicrotenant) -> Result<Value, ReconcileError> {
        wire_json(remote)
    }

    /// The API requires the criteria attribute (AuthDomain is the only one).
    /// `enabled` and `privilegedApprovalsEnabled` are always sent, `false`
    /// when the spec leaves them out, as the Go SDK (`microtenants.MicroTenant`
    /// serialises both without omitempty) and the Terraform provider
    /// (`expandMicrotenant`, default false) do: the tenant's own defaults (the
    /// UI and the Python SDK disagree on `enabled`) never decide them.
    fn create_body(desired: &DesiredMicrotenant) -> Result<MgmtMicrotenant, ReconcileError> {
        let mut body = strip_nulls(&Self::managed_json(desired));
        for (field, default) in [
            ("criteriaAttribute", json!(CriteriaAttribute::AuthDomain.as_str())),
            ("enabled", json!(false)),
            ("privilegedApprovalsEnabled", json!(false)),
        ] {
            if body.get(field).is_none() {
                body[field] = default;
            }
        }
        wire_body(Self::KIND, body)
    }

    fn update_body(desired: &DesiredMicrotenant, remote: &MgmtMicrotenant) -> Result<MgmtMicrotenant, ReconcileError> {
        let mut body = wire_json(remote)?;
        overlay(&mut body, &Self::managed_json(desired));
        if let Some(fields) = body.as_object_mut() {
            for field in NEVER_SENT {
                fields.remove(field);
            }
        }
        wire_body(Self::KIND, body)
    }

    fn tenant_default(id: &str, _: Option<&MgmtMicrotenant>) -> Option<&'static str> {
        is_default_microtenant(id).then_some("the Default Microtenant")
    }
}

/// Whether `id` is the Default Microtenant: ZPA makes it and it cannot be
/// deleted, so the delete path must never try (facts §3.1, §7.2).
pub fn is_default_microtenant(id: &str) -> bool {
    id.trim() == Scope::DEFAULT_ID
}

/// What `status.atProvider` shows.
pub fn observation(remote: &MgmtMicrotenant) -> MicrotenantObservation {
    let mut values = remote.criteria_attribute_values.clone().unwrap_or_default();
    values.sort();
    MicrotenantObservation {
        name: remote.name.clone(),
        description: remote.description.clone().filter(|d| !d.is_empty()),
        enabled: remote.enabled,
        criteria_attribute: remote.criteria_attribute.clone(),
        criteria_attribute_values: values,
        privileged_approvals_enabled: remote.privileged_approvals_enabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::ManagementPolicy;
    use crate::reconcile::plan::{Plan, diff, plan};
    use crate::wire::mgmt::MicrotenantUser;

    fn spec() -> MicrotenantSpec {
        MicrotenantSpec {
            description: Some("team a".into()),
            enabled: Some(true),
            criteria_attribute_values: Some(vec!["a.example.com".into(), "b.example.com".into()]),
            ..Default::default()
        }
    }

    fn remote() -> MgmtMicrotenant {
        serde_json::from_value(json!({"id": "7205", "name": "team-a", "description": "team a", "enabled": true,
            "operator": "OR", "criteriaAttribute": "AuthDomain", "scopeOrder": "3",
            "criteriaAttributeValues": ["b.example.com", "a.example.com"], "creationTime": "1663791107"}))
        .unwrap()
    }

    fn edit(f: impl FnOnce(&mut Value)) -> MgmtMicrotenant {
        let mut value = serde_json::to_value(remote()).unwrap();
        f(&mut value);
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn each_field_change_is_an_update_with_exactly_that_change() {
        let desired = DesiredMicrotenant::new("team-a", &spec());
        let cases: Vec<(&str, MgmtMicrotenant, Vec<&str>)> = vec![
            ("in sync", remote(), vec![]),
            ("name", edit(|v| v["name"] = json!("team-b")), vec!["name"]),
            ("description", edit(|v| v["description"] = json!("x")), vec!["description"]),
            ("disabled", edit(|v| v["enabled"] = json!(false)), vec!["enabled"]),
            (
                "enabled omitted",
                edit(|v| {
                    v.as_object_mut().unwrap().remove("enabled");
                }),
                vec!["enabled"],
            ),
            (
                "domain removed",
                edit(|v| v["criteriaAttributeValues"] = json!(["a.example.com"])),
                vec!["criteriaAttributeValues"],
            ),
            ("unmanaged privileged approvals", edit(|v| v["privilegedApprovalsEnabled"] = json!(true)), vec![]),
            ("unmanaged criteria attribute", edit(|v| v["criteriaAttribute"] = json!("Other")), vec![]),
        ];
        for (name, remote, want) in cases {
            let got = plan::<MicrotenantKind>(&desired, Some(&remote), ManagementPolicy::Manage).unwrap();
            let paths: Vec<&str> = got.changes().iter().map(|c| c.path.as_str()).collect();
            assert_eq!(paths, want, "{name}");
        }
    }

    #[test]
    fn create_defaults_the_criteria_attribute() {
        let Plan::Create { body } =
            plan::<MicrotenantKind>(&DesiredMicrotenant::new("team-a", &spec()), None, ManagementPolicy::Manage)
                .unwrap()
        else {
            panic!("expected create")
        };
        assert_eq!(body.criteria_attribute.as_deref(), Some("AuthDomain"));
        assert_eq!(body.name, "team-a");
        assert_eq!(body.enabled, Some(true), "the spec's value");
        assert_eq!(body.privileged_approvals_enabled, Some(false), "unset is sent as false, not left to the tenant");
        assert!(body.id.is_none());
    }

    /// No domains: the spec is valid (privileged approvals only), the create
    /// sends none and every flag explicitly, and the domains are unmanaged.
    #[test]
    fn a_microtenant_without_domains() {
        let spec = MicrotenantSpec { privileged_approvals_enabled: Some(true), ..Default::default() };
        let desired = DesiredMicrotenant::new("approvals", &spec);
        let Plan::Create { body } = plan::<MicrotenantKind>(&desired, None, ManagementPolicy::Manage).unwrap() else {
            panic!("expected create")
        };
        let sent = serde_json::to_value(&body).unwrap();
        assert_eq!(
            sent,
            json!({"name": "approvals", "criteriaAttribute": "AuthDomain", "enabled": false,
                "privilegedApprovalsEnabled": true})
        );
        let remote = edit(|v| {
            v["name"] = json!("approvals");
            v["privilegedApprovalsEnabled"] = json!(true);
            v["enabled"] = json!(false);
        });
        assert_eq!(plan::<MicrotenantKind>(&desired, Some(&remote), ManagementPolicy::Manage).unwrap(), Plan::InSync);
        let none = MicrotenantSpec { criteria_attribute_values: Some(vec![]), ..spec };
        let changes = diff::<MicrotenantKind>(&DesiredMicrotenant::new("approvals", &none), &remote).unwrap();
        assert_eq!(changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["criteriaAttributeValues"]);
    }

    #[test]
    fn the_default_microtenant_is_recognised() {
        assert!(is_default_microtenant("0"));
        assert!(is_default_microtenant(" 0"));
        assert!(!is_default_microtenant("72057594038621068"));
        assert!(!is_default_microtenant(""));
    }

    #[test]
    fn update_never_sends_the_admin_user_back() {
        let mut with_user = edit(|v| v["description"] = json!("old"));
        with_user.user = Some(MicrotenantUser { password: Some("pw".into()), ..Default::default() });
        let body = MicrotenantKind::update_body(&DesiredMicrotenant::new("team-a", &spec()), &with_user).unwrap();
        assert!(body.user.is_none());
        assert_eq!(body.scope_order.as_deref(), Some("3"), "server fields kept");
        assert_eq!(body.description.as_deref(), Some("team a"));
    }
}
