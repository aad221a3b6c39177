//! How each managed kind is listed, read, created, updated and deleted in ZPA.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::packed::{Listed, Packed};
use super::snapshot::SnapshotCache;
use super::tenant::Tenant;
use crate::reconcile::ManagedKind;
use crate::reconcile::isolation_profile::IsolationProfileKind;
use crate::reconcile::microtenant::MicrotenantKind;
use crate::wire::cbi::CbiProfile;
use crate::wire::mgmt::{Microtenant, MicrotenantUser};
use crate::zpa::{Scope, ZpaClient, ZpaError};

/// What a create returned.
#[derive(Debug, Clone)]
pub struct Created<R> {
    pub id: String,
    /// What ZPA now holds, as far as we know without reading it back.
    pub remote: R,
    /// The generated Microtenant admin, shown by ZPA this once.
    pub admin_user: Option<MicrotenantUser>,
}

/// The I/O side of a managed kind.
pub trait RemoteKind:
    ManagedKind<Remote: Serialize + DeserializeOwned + Send + Sync + 'static, Desired: Send + Sync> + Send + Sync + 'static
{
    /// The kind as users see it, for messages and metrics.
    const KIND: &'static str;

    fn snapshots(tenant: &Tenant) -> &SnapshotCache<Packed<Self::Remote>>;
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

impl RemoteKind for IsolationProfileKind {
    const KIND: &'static str = "IsolationProfile";

    fn snapshots(tenant: &Tenant) -> &SnapshotCache<Packed<CbiProfile>> {
        &tenant.profiles
    }

    fn scope_key(scope: &Scope) -> String {
        scope.key().to_owned()
    }

    async fn list(client: &ZpaClient, scope: &Scope) -> Result<Vec<Listed<CbiProfile>>, ZpaError> {
        client.list_profiles_as(scope).await
    }

    async fn get(client: &ZpaClient, id: &str, scope: &Scope) -> Result<CbiProfile, ZpaError> {
        client.get_profile(id, scope).await
    }

    async fn create(client: &ZpaClient, body: &CbiProfile, scope: &Scope) -> Result<Created<CbiProfile>, ZpaError> {
        let id = client.create_profile(body, scope).await?;
        Ok(Created { remote: CbiProfile { id: Some(id.clone()), ..body.clone() }, id, admin_user: None })
    }

    async fn update(client: &ZpaClient, id: &str, body: &CbiProfile, scope: &Scope) -> Result<(), ZpaError> {
        client.update_profile(id, body, scope).await
    }

    async fn delete(client: &ZpaClient, id: &str, scope: &Scope) -> Result<(), ZpaError> {
        client.delete_profile(id, scope).await
    }
}

impl RemoteKind for MicrotenantKind {
    const KIND: &'static str = "Microtenant";

    fn snapshots(tenant: &Tenant) -> &SnapshotCache<Packed<Microtenant>> {
        &tenant.microtenants
    }

    /// Microtenants are listed tenant-wide: one snapshot.
    fn scope_key(_: &Scope) -> String {
        String::new()
    }

    async fn list(client: &ZpaClient, _: &Scope) -> Result<Vec<Listed<Microtenant>>, ZpaError> {
        // Paged at 500 (and at most 500 per tenant): small enough to pack after the fact.
        client.list_microtenants(None).await?.iter().map(Listed::new).collect()
    }

    async fn get(client: &ZpaClient, id: &str, _: &Scope) -> Result<Microtenant, ZpaError> {
        client.get_microtenant(id).await
    }

    async fn create(client: &ZpaClient, body: &Microtenant, _: &Scope) -> Result<Created<Microtenant>, ZpaError> {
        let mut created = client.create_microtenant(body).await?;
        let admin_user = created.user.take();
        let id = created
            .id
            .clone()
            // Created, but we cannot tell which object it is: keep the pending
            // marker and look for it by name rather than create again.
            .ok_or(ZpaError::Indeterminate { operation: "microtenants.create", method: "POST" })?;
        Ok(Created { id, remote: created, admin_user })
    }

    async fn update(client: &ZpaClient, id: &str, body: &Microtenant, _: &Scope) -> Result<(), ZpaError> {
        client.update_microtenant(id, body).await
    }

    async fn delete(client: &ZpaClient, id: &str, _: &Scope) -> Result<(), ZpaError> {
        client.delete_microtenant(id).await
    }
}
