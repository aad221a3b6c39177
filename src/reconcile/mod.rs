//! The reconcile core: pure decisions, no I/O. It knows the custom resource
//! types and the ZPA wire types, and nothing of HTTP or the Kubernetes API.
//!
//! ```text
//! identity (target.rs) ─▶ diff (diff.rs) ─▶ plan (plan.rs) ─▶ conditions (conditions.rs)
//!                      per kind: isolation_profile.rs, microtenant.rs (ReconcileKind)
//! ```
//!
//! `error.rs`: why a reconcile stopped, with its condition reason, whether
//! waiting can fix it, and whose move it is ([`Owner`]). `lifecycle.rs`:
//! paused, `Synced`, what deletion does. `scope.rs`: which Microtenant an
//! object lives in, as the API key allows. The I/O around these decisions is
//! `remote::converge`.

pub mod conditions;
pub mod diff;
pub mod error;
pub mod isolation_profile;
pub mod lifecycle;
pub mod microtenant;
pub mod plan;
pub mod scope;
pub mod target;

pub use conditions::{ConditionState, Reason};
pub use diff::FieldChange;
pub use error::{Owner, ReconcileError};
pub use plan::{Plan, ReconcileKind, diff, plan};
pub use target::{Found, Identity, PendingCreate, RemoteObject, Target};
