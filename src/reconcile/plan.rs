//! The plan: given what is desired and what exists, what to write. Pure and
//! the same for every kind, through [`ReconcileKind`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::diff::{FieldChange, managed_changes};
use super::error::ReconcileError;
use super::target::RemoteObject;
use crate::crd::ManagementPolicy;

/// What the pure core needs of a managed kind: its desired and remote
/// types, their comparable JSON, and the bodies to send. (The ZPA side's
/// part is `remote::RemoteKind`, the Kubernetes side's `controller::ControllerKind`.)
pub trait ReconcileKind {
    /// The kind as users see it, for messages and metrics.
    const KIND: &'static str;
    /// The spec with every reference resolved.
    type Desired;
    /// The remote object, as the API returns it.
    type Remote: RemoteObject + Clone;

    fn desired_name(desired: &Self::Desired) -> &str;
    /// The managed fields in wire form (unmanaged fields null or absent).
    fn managed_json(desired: &Self::Desired) -> Value;
    /// The remote object in the same normalised wire form.
    fn observed_json(remote: &Self::Remote) -> Result<Value, ReconcileError>;
    /// Managed changes that JSON cannot show (secrets).
    fn secret_changes(_desired: &Self::Desired, _remote: &Self::Remote) -> Vec<FieldChange> {
        Vec::new()
    }
    /// The POST body. Built from our own JSON: failing is an operator bug
    /// ([`ReconcileError::Internal`]), never an empty body.
    fn create_body(desired: &Self::Desired) -> Result<Self::Remote, ReconcileError>;
    /// What the object should be after the update: the last read with the
    /// managed fields laid over it. The client sends only the fields the API
    /// takes from it (see `ZpaClient::update_profile`, `update_microtenant`).
    fn update_body(desired: &Self::Desired, remote: &Self::Remote) -> Result<Self::Remote, ReconcileError>;
    /// Whether ZPA keeps this object whatever is asked, a default of the
    /// tenant or of a scope, which the delete path leaves in place: what it
    /// is, for messages. `remote` is the object as read, when the id alone
    /// does not tell.
    fn tenant_default(_id: &str, _remote: Option<&Self::Remote>) -> Option<&'static str> {
        None
    }
}

/// A wire object as JSON, to compare or to build a body over.
pub fn wire_json<T: Serialize>(object: &T) -> Result<Value, ReconcileError> {
    serde_json::to_value(object)
        .map_err(|error| ReconcileError::Internal { message: format!("cannot encode a ZPA object as JSON: {error}") })
}

/// A request body from the JSON the operator built. It always decodes unless
/// the operator has a bug, which is reported as one: no body is sent.
pub fn wire_body<T: DeserializeOwned>(kind: &str, body: Value) -> Result<T, ReconcileError> {
    serde_json::from_value(body)
        .map_err(|error| ReconcileError::Internal { message: format!("cannot build the {kind} request body: {error}") })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan<R> {
    /// The remote object matches: write nothing.
    InSync,
    Create {
        body: R,
    },
    /// These managed fields differ. The PUT body is built when it is sent,
    /// over a fresh read that must need exactly these changes
    /// (`remote::converge`), so fields others changed meanwhile are kept.
    Update {
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
pub fn diff<K: ReconcileKind>(desired: &K::Desired, remote: &K::Remote) -> Result<Vec<FieldChange>, ReconcileError> {
    let mut changes = managed_changes(&K::managed_json(desired), &K::observed_json(remote)?);
    changes.extend(K::secret_changes(desired, remote));
    Ok(changes)
}

/// `remote` is `None` when no remote object exists.
pub fn plan<K: ReconcileKind>(
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
            let changes = diff::<K>(desired, remote)?;
            Ok(match (changes.is_empty(), policy) {
                (true, _) => Plan::InSync,
                (false, ManagementPolicy::ObserveOnly) => Plan::Drift { changes },
                (false, ManagementPolicy::Manage) => Plan::Update { changes },
            })
        }
    }
}
