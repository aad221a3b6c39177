//! Decisions around the remote calls: whether a reconcile may talk to ZPA
//! at all (paused), what the `Synced` condition says about its outcome, and
//! what deleting the custom resource does remotely. Pure.

use super::conditions::{ConditionState, Reason};
use super::diff::FieldChange;
use super::error::ReconcileError;
use super::target::Identity;
use crate::crd::{DeletionPolicy, ManagedFields, ManagementPolicy};

/// What deleting the custom resource does in ZPA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// Leave the remote object (`Orphan`, or `ObserveOnly`).
    Keep { id: Option<String> },
    /// Delete this remote object.
    Delete { id: String },
    /// A create was started and never recorded: delete what it made, if anything.
    DeletePendingCreate,
    /// Nothing was ever created.
    Nothing,
}

pub fn deletion(managed: &ManagedFields, identity: &Identity) -> Deletion {
    let keep = managed.deletion_policy() == DeletionPolicy::Orphan
        || managed.management_policy() == ManagementPolicy::ObserveOnly;
    match (keep, identity) {
        (true, identity) => Deletion::Keep { id: identity.id().map(str::to_owned) },
        (false, Identity::External(id) | Identity::Known(id)) => Deletion::Delete { id: id.clone() },
        (false, Identity::Pending { .. }) => Deletion::DeletePendingCreate,
        (false, Identity::Fresh) => Deletion::Nothing,
    }
}

/// The paused condition (remote calls stopped by the annotation).
pub fn paused(deleting: bool) -> ConditionState {
    let message = if deleting {
        "paused: remote calls stopped; deletion waits until the zpa.operator.dev/paused annotation is removed"
    } else {
        "paused: remote calls stopped by the zpa.operator.dev/paused annotation"
    };
    ConditionState::no(Reason::ReconcilePaused, message)
}

/// `Synced` after a reconcile: success, observe-only drift, or the error's reason.
pub fn synced(outcome: Result<&[FieldChange], &ReconcileError>) -> ConditionState {
    match outcome {
        Ok([]) => ConditionState::yes(Reason::ReconcileSuccess, ""),
        Ok(drift) => ConditionState::no(
            Reason::ObserveOnlyDrift,
            format!(
                "ZPA differs from the spec (observe only, not corrected): {}",
                drift.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
        ),
        Err(error) => ConditionState::no(error.reason(), error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::crd::Adoption;
    use crate::reconcile::target::PendingCreate;

    fn fields(deletion: Option<DeletionPolicy>, management: Option<ManagementPolicy>) -> ManagedFields {
        ManagedFields {
            deletion_policy: deletion,
            management_policy: management,
            adoption: Some(Adoption::Never),
            ..Default::default()
        }
    }

    #[test]
    fn deletion_policies_table() {
        let known = Identity::Known("7".into());
        let pending =
            Identity::Pending { marker: PendingCreate { at: "t".into(), name: "n".into() }, age: Duration::ZERO };
        let cases = vec![
            ("default deletes", fields(None, None), known.clone(), Deletion::Delete { id: "7".into() }),
            (
                "explicit delete",
                fields(Some(DeletionPolicy::Delete), None),
                Identity::External("9".into()),
                Deletion::Delete { id: "9".into() },
            ),
            (
                "orphan keeps",
                fields(Some(DeletionPolicy::Orphan), None),
                known.clone(),
                Deletion::Keep { id: Some("7".into()) },
            ),
            (
                "observe-only keeps",
                fields(None, Some(ManagementPolicy::ObserveOnly)),
                known,
                Deletion::Keep { id: Some("7".into()) },
            ),
            ("pending create is looked up", fields(None, None), pending, Deletion::DeletePendingCreate),
            ("never created", fields(None, None), Identity::Fresh, Deletion::Nothing),
            (
                "orphan of nothing",
                fields(Some(DeletionPolicy::Orphan), None),
                Identity::Fresh,
                Deletion::Keep { id: None },
            ),
        ];
        for (name, managed, identity, want) in cases {
            assert_eq!(deletion(&managed, &identity), want, "{name}");
        }
    }

    #[test]
    fn synced_condition_table() {
        let drift = vec![FieldChange { path: "description".into(), from: json!("a"), to: json!("b") }];
        let error = ReconcileError::ReferenceNotFound { what: "Secret a/b".into() };
        type Outcome<'a> = Result<&'a [FieldChange], &'a ReconcileError>;
        let cases: [(&str, Outcome, (bool, Reason, &str)); 3] = [
            ("success", Ok(&[]), (true, Reason::ReconcileSuccess, "")),
            ("drift", Ok(&drift), (false, Reason::ObserveOnlyDrift, "description: \"a\" -> \"b\"")),
            ("error", Err(&error), (false, Reason::ReferenceNotFound, "Secret a/b not found")),
        ];
        for (name, outcome, (status, reason, fragment)) in cases {
            let state = synced(outcome);
            assert_eq!((state.status, state.reason), (status, reason), "{name}");
            assert!(state.message.contains(fragment), "{name}: {}", state.message);
        }
        assert_eq!(paused(false).reason, Reason::ReconcilePaused);
        assert!(paused(true).message.contains("deletion waits"));
    }
}
