//! The plan: given what is desired and what exists, what to write. Pure and
//! the same for every kind, through [`ManagedKind`].

use serde_json::Value;

use super::diff::{FieldChange, managed_changes};
use super::error::ReconcileError;
use super::target::RemoteObject;
use crate::crd::ManagementPolicy;

/// What a kind must provide for planning.
pub trait ManagedKind {
    /// The spec with every reference resolved.
    type Desired;
    /// The remote object, as the API returns it.
    type Remote: RemoteObject + Clone;

    fn desired_name(desired: &Self::Desired) -> &str;
    /// The managed fields in wire form (unmanaged fields null or absent).
    fn managed_json(desired: &Self::Desired) -> Value;
    /// The remote object in the same normalised wire form.
    fn observed_json(remote: &Self::Remote) -> Value;
    /// Managed changes that JSON cannot show (secrets).
    fn secret_changes(_desired: &Self::Desired, _remote: &Self::Remote) -> Vec<FieldChange> {
        Vec::new()
    }
    /// The POST body. Fallible: a body that cannot be built is an error, never
    /// an empty object sent to ZPA.
    fn create_body(desired: &Self::Desired) -> Result<Self::Remote, ReconcileError>;
    /// What the object should be after the update: the last read with the
    /// managed fields laid over it. The client sends only the fields the API
    /// takes from it (see `ZpaClient::update_profile`, `update_microtenant`).
    fn update_body(desired: &Self::Desired, remote: &Self::Remote) -> Result<Self::Remote, ReconcileError>;
}

/// A request body that could not be built (a bug, never sent as something else).
pub fn body_error(kind: &str, error: &serde_json::Error) -> ReconcileError {
    ReconcileError::Zpa(crate::zpa::ZpaError::Terminal {
        detail: format!("cannot build the {kind} request body: {error}"),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan<R> {
    /// The remote object matches: write nothing.
    InSync,
    Create {
        body: R,
    },
    Update {
        body: R,
        changes: Vec<FieldChange>,
    },
    /// ObserveOnly and the remote object differs: report, never write.
    Drift {
        changes: Vec<FieldChange>,
    },
}

impl<R> Plan<R> {
    pub fn changes(&self) -> &[FieldChange] {
        match self {
            Plan::Update { changes, .. } | Plan::Drift { changes } => changes,
            _ => &[],
        }
    }
}

/// The managed fields of `desired` that `remote` does not match.
pub fn diff<K: ManagedKind>(desired: &K::Desired, remote: &K::Remote) -> Vec<FieldChange> {
    let mut changes = managed_changes(&K::managed_json(desired), &K::observed_json(remote));
    changes.extend(K::secret_changes(desired, remote));
    changes
}

/// `remote` is `None` when no remote object exists.
pub fn plan<K: ManagedKind>(
    desired: &K::Desired,
    remote: Option<&K::Remote>,
    policy: ManagementPolicy,
) -> Result<Plan<K::Remote>, ReconcileError> {
    match (remote, policy) {
        (None, ManagementPolicy::Manage) => Ok(Plan::Create { body: K::create_body(desired)? }),
        (None, ManagementPolicy::ObserveOnly) => {
            Err(ReconcileError::ExternalNotFound { what: format!("named {:?} to observe", K::desired_name(desired)) })
        }
        (Some(remote), policy) => {
            let changes = diff::<K>(desired, remote);
            Ok(match (changes.is_empty(), policy) {
                (true, _) => Plan::InSync,
                (false, ManagementPolicy::ObserveOnly) => Plan::Drift { changes },
                (false, ManagementPolicy::Manage) => Plan::Update { body: K::update_body(desired, remote)?, changes },
            })
        }
    }
}
