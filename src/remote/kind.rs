//! What the remote layer needs of a managed kind ([`RemoteKind`]), and the
//! converge step's input ([`Prepared`], read through [`Sources`]) and a
//! create's output ([`Created`]): the names the kinds' impls (`kinds.rs`), the
//! ZPA calls (`calls.rs`) and the converge step (`converge.rs`) share.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use super::packed::{Listed, Packable};
use super::tenant::Tenant;
use crate::reconcile::{ReconcileError, ReconcileKind};
use crate::secret::SecretString;
use crate::wire::mgmt::MicrotenantUser;
use crate::zpa::{Scope, ZpaClient, ZpaError};

/// What a create returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<R> {
    pub id: String,
    /// What ZPA now holds, as far as we know without reading it back.
    pub remote: R,
    /// The generated Microtenant admin, shown by ZPA this once.
    pub admin_user: Option<MicrotenantUser>,
}

/// What the remote layer needs of a managed kind: how to prepare its
/// desired state from the custom resource, and its ZPA calls and snapshots.
pub trait RemoteKind:
    Sized
    + ReconcileKind<Remote: Packable + Debug + PartialEq + Send + Sync + 'static, Desired: Send + Sync>
    + Send
    + Sync
    + 'static
{
    /// Its custom resource.
    type Resource: Send + Sync;

    /// The desired state (and the desired state of a create) of `object`:
    /// its spec with every reference resolved, read through `sources`.
    fn prepare(
        object: &Self::Resource,
        sources: &impl Sources,
    ) -> impl Future<Output = Result<Prepared<Self>, ReconcileError>> + Send;

    /// The scope an object that asks for `asked` is read and written in,
    /// with an API key that works in `key` (see [`crate::reconcile::scope`]).
    fn scope_for(asked: &Scope, key: &Scope) -> Result<Scope, ReconcileError>;
    /// The snapshot a scope's objects live in.
    fn scope_key(scope: &Scope) -> String;
    /// Every object of a scope, packed as the snapshots keep them.
    fn list(
        client: &ZpaClient,
        scope: &Scope,
    ) -> impl Future<Output = Result<Vec<Listed<Self::Remote>>, ZpaError>> + Send;
    fn get(client: &ZpaClient, id: &str, scope: &Scope) -> impl Future<Output = Result<Self::Remote, ZpaError>> + Send;
    fn create(
        client: &ZpaClient,
        body: &Self::Remote,
        scope: &Scope,
    ) -> impl Future<Output = Result<Created<Self::Remote>, ZpaError>> + Send;
    fn update(
        client: &ZpaClient,
        id: &str,
        body: &Self::Remote,
        scope: &Scope,
    ) -> impl Future<Output = Result<(), ZpaError>> + Send;
    fn delete(client: &ZpaClient, id: &str, scope: &Scope) -> impl Future<Output = Result<(), ZpaError>> + Send;
}

/// What one converge step works from, as the kind's `prepare` builds it
/// from the spec and what it references.
pub struct Prepared<K: RemoteKind> {
    pub tenant: Arc<Tenant>,
    pub desired: K::Desired,
    /// The desired state of a create, with tenant defaults filled in where
    /// the spec leaves a field ZPA requires unmanaged (`None`: `desired`).
    pub create_desired: Option<K::Desired>,
    /// The Microtenant scope the object lives in.
    pub scope: Scope,
}

/// Where a `prepare` reads what a spec names outside ZPA: the cluster for
/// the controller, the manifests for the CLI.
pub trait Sources: Sync {
    /// The tenant of a `ZpaProviderConfig`.
    fn tenant(&self, provider_config: &str) -> impl Future<Output = Result<Arc<Tenant>, ReconcileError>> + Send;
    /// One key of a Secret.
    fn secret_key(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> impl Future<Output = Result<SecretString, ReconcileError>> + Send;
    /// The ZPA id of the Microtenant `name` in `namespace`, which an object of
    /// `provider_config` names as its scope: `ReferenceNotReady` while it has none.
    fn microtenant_id(
        &self,
        namespace: &str,
        name: &str,
        provider_config: &str,
    ) -> impl Future<Output = Result<String, ReconcileError>> + Send;
}
