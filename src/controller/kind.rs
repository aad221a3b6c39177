//! What the controller layer needs of a managed kind ([`ControllerKind`]),
//! and what the reconcile flow (`managed.rs`) hands the kind's status hook:
//! the [`Report`] of a reconcile and the kind's own status fields.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::Resource;
use kube::core::NamespaceResourceScope;
use kube::core::object::{HasSpec, HasStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::context::Context;
use crate::crd::{ManagedFields, ManagedStatus, ObservedStatus};
use crate::reconcile::{ConditionState, FieldChange, ReconcileKind};
use crate::remote::packed::Dictionary;
use crate::remote::{Created, RemoteKind, Tenant};
use crate::zpa::Scope;

/// The status field with ZPA's view of the object.
pub const AT_PROVIDER: &str = "atProvider";

/// What a reconcile found and did, for the status.
pub struct Report<R> {
    pub id: Option<String>,
    pub remote: Option<R>,
    pub ready: ConditionState,
    pub drift: Vec<FieldChange>,
    pub tenant: Option<Arc<Tenant>>,
    pub scope: Scope,
    /// Come back sooner than the resync interval.
    pub requeue_after: Option<Duration>,
    /// The reconcile failed in a way only a person can fix (kstatus's `Stalled`).
    pub terminal: bool,
    /// This reconcile created the remote object.
    pub created: bool,
}

/// A kind's own status fields, and whether they are worth a write yet.
pub struct KindStatus {
    pub fields: Map<String, Value>,
    /// Reconcile again this soon (a field ZPA fills in a little later).
    pub requeue: Option<Duration>,
}

/// What the controller layer needs of a managed kind: its custom resource,
/// the hooks around a create, its status fields and the Secrets it reads.
/// (The pure core's part is `reconcile::ReconcileKind`, the ZPA side's
/// `remote::RemoteKind`.)
pub trait ControllerKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + HasSpec<Spec: AsRef<ManagedFields>>
    + HasStatus<Status: AsRef<ManagedStatus> + AsMut<ManagedStatus> + ObservedStatus + Serialize + Default + Clone>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Kind: RemoteKind<Resource = Self>;
    const API_VERSION: &'static str = "zpa.operator.dev/v1alpha1";

    /// The spec fields every managed kind has.
    fn managed(&self) -> &ManagedFields {
        self.spec().as_ref()
    }

    /// The status fields every managed kind has.
    fn managed_status(&self) -> Option<&ManagedStatus> {
        self.status().map(AsRef::as_ref)
    }

    /// The current status as JSON but `atProvider`, which is compared by
    /// its digest (`cached.rs`).
    fn status_json(&self) -> Value {
        let mut status = serde_json::to_value(self.status().cloned().unwrap_or_default()).unwrap_or_default();
        if let Some(fields) = status.as_object_mut() {
            fields.remove(AT_PROVIDER);
        }
        status
    }

    /// `status.atProvider` as JSON, when this copy holds it.
    fn at_provider_json(&self) -> Option<Value> {
        self.status()?.at_provider_json()
    }

    /// Takes `status.atProvider` out of this copy, as JSON.
    fn take_at_provider(&mut self) -> Option<Value> {
        self.status_mut().as_mut()?.take_at_provider()
    }

    /// The scope to delete in, without resolving references that may be gone.
    fn recorded_scope(&self) -> Scope {
        Scope::Default
    }

    /// Runs right after a create, before the id is recorded. It must not
    /// fail the reconcile: the remote object exists whatever happens here.
    fn after_create(&self, _ctx: &Context, _created: &Created<RemoteOf<Self>>) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Runs when a create whose answer was lost is adopted by name: what the
    /// lost answer held that cannot be had again, for the Adopted event.
    fn after_lost_create(&self, _ctx: &Context) -> impl Future<Output = Option<String>> + Send {
        async { None }
    }

    /// The Secrets (in its namespace) the object reads itself, beyond its
    /// provider config's: a change of one reconciles the object.
    fn secrets_read(&self) -> Vec<&str> {
        Vec::new()
    }

    /// The Microtenant (in its namespace) the object is scoped to by
    /// reference: a change of it reconciles the object.
    fn scoped_to(&self) -> Option<&str> {
        None
    }

    /// What the cache compresses objects of this kind against (`cached.rs`).
    fn cache_dictionary() -> &'static Dictionary;

    /// Kind-specific status fields (`atProvider`, ...), merged into the status.
    fn status_fields(&self, report: &Report<RemoteOf<Self>>) -> impl Future<Output = KindStatus> + Send;
}

/// The remote object type of a controller kind.
pub type RemoteOf<R> = <<R as ControllerKind>::Kind as ReconcileKind>::Remote;
