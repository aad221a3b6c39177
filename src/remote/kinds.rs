//! Per managed kind, its [`RemoteKind`] impl: how its desired state is prepared from the custom
//! resource (for the controller and the CLI alike), and how it is listed,
//! read, created, updated and deleted in ZPA.

use kube::ResourceExt;

use super::kind::{Created, Prepared, RemoteKind, Sources};
use super::packed::Listed;
use crate::crd;
use crate::reconcile::isolation_profile::{DesiredProfile, IsolationProfileKind};
use crate::reconcile::microtenant::{DesiredMicrotenant, MicrotenantKind};
use crate::reconcile::{ReconcileError, scope};
use crate::wire::cbi::CbiProfile;
use crate::wire::mgmt::MgmtMicrotenant;
use crate::zpa::{Scope, ZpaClient, ZpaError};

impl RemoteKind for IsolationProfileKind {
    type Resource = crd::IsolationProfile;

    /// The scope once recorded, else `microtenantRef`'s id; the debug file
    /// password from its Secret; region, certificate and banner names as ids.
    async fn prepare(object: &crd::IsolationProfile, sources: &impl Sources) -> Result<Prepared<Self>, ReconcileError> {
        let spec = &object.spec;
        let namespace = object.namespace().unwrap_or_default();
        let provider_config = spec.managed.provider_config_name();
        let tenant = sources.tenant(provider_config).await?;
        let asked = match (recorded_scope(object), &spec.microtenant_ref) {
            (Scope::Default, Some(reference)) => {
                Scope::Microtenant(sources.microtenant_id(&namespace, &reference.name, provider_config).await?)
            }
            (scope, _) => scope,
        };
        let scope = Self::scope_for(&asked, tenant.key_scope().await?)?;
        let password = match spec.debug_mode.as_ref().and_then(|d| d.file_password_secret_ref.as_ref()) {
            Some(r) => Some(sources.secret_key(&namespace, &r.name, &r.key).await?),
            None => None,
        };
        let refs = tenant.references.resolve_profile(&tenant.client, spec, password).await?;
        let name = spec.managed.remote_name(&object.name_any());
        let desired = DesiredProfile::new(&name, spec, refs.clone());
        let create_desired = tenant
            .references
            .with_create_defaults(&tenant.client, refs)
            .await?
            .map(|refs| DesiredProfile::new(&name, spec, refs));
        Ok(Prepared { tenant, desired, create_desired, scope })
    }

    /// A key bound to a Microtenant works in that Microtenant: a profile
    /// that names no scope lives there, one that names another is refused.
    fn scope_for(asked: &Scope, key: &Scope) -> Result<Scope, ReconcileError> {
        scope::profile_scope(asked, key)
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

    /// ZPA answers a profile create with its id alone, and the profile it
    /// holds is more than the body sent: the Zscaler Root Certificate, the
    /// `cbiUrl`, the tenant's defaults. One GET reads it back, so the status
    /// written by this reconcile is the one the next resync observes (no
    /// second status write per object; one read per create, from the read
    /// budget, which is twice the write budget). If the read fails, the body
    /// stands in for it: the object exists whatever happens here.
    async fn create(client: &ZpaClient, body: &CbiProfile, scope: &Scope) -> Result<Created<CbiProfile>, ZpaError> {
        let id = client.create_profile(body, scope).await?;
        let remote = match client.get_profile(&id, scope).await {
            Ok(read) if read.id.as_deref() == Some(id.as_str()) => read,
            Ok(_) | Err(_) => CbiProfile { id: Some(id.clone()), ..body.clone() },
        };
        Ok(Created { remote, id, admin_user: None })
    }

    async fn update(client: &ZpaClient, id: &str, body: &CbiProfile, scope: &Scope) -> Result<(), ZpaError> {
        client.update_profile(id, body, scope).await
    }

    async fn delete(client: &ZpaClient, id: &str, scope: &Scope) -> Result<(), ZpaError> {
        client.delete_profile(id, scope).await
    }
}

/// The scope a profile lives in: the one status recorded at its create, else
/// `spec.microtenantId`. The scope is immutable, so this stays right even
/// when the Microtenant `microtenantRef` names is gone (deletion uses it).
pub fn recorded_scope(profile: &crd::IsolationProfile) -> Scope {
    let recorded = profile.status.as_ref().and_then(|s| s.microtenant_id.as_deref());
    Scope::from_id(recorded.or(profile.spec.microtenant_id.as_deref()))
}

impl RemoteKind for MicrotenantKind {
    type Resource = crd::Microtenant;

    async fn prepare(object: &crd::Microtenant, sources: &impl Sources) -> Result<Prepared<Self>, ReconcileError> {
        let tenant = sources.tenant(object.spec.managed.provider_config_name()).await?;
        let scope = Self::scope_for(&Scope::Default, tenant.key_scope().await?)?;
        let desired = DesiredMicrotenant::new(&object.spec.managed.remote_name(&object.name_any()), &object.spec);
        Ok(Prepared { tenant, desired, create_desired: None, scope })
    }

    /// Only Default Microtenant admins manage Microtenants, tenant-wide.
    fn scope_for(_: &Scope, key: &Scope) -> Result<Scope, ReconcileError> {
        scope::microtenant_admin(key).map(|()| Scope::Default)
    }

    /// Microtenants are listed tenant-wide: one snapshot.
    fn scope_key(_: &Scope) -> String {
        String::new()
    }

    async fn list(client: &ZpaClient, _: &Scope) -> Result<Vec<Listed<MgmtMicrotenant>>, ZpaError> {
        // Paged at 500 (and at most 500 per tenant): small enough to pack after the fact.
        client.list_microtenants(None).await?.iter().map(Listed::new).collect()
    }

    async fn get(client: &ZpaClient, id: &str, _: &Scope) -> Result<MgmtMicrotenant, ZpaError> {
        client.get_microtenant(id).await
    }

    async fn create(
        client: &ZpaClient,
        body: &MgmtMicrotenant,
        _: &Scope,
    ) -> Result<Created<MgmtMicrotenant>, ZpaError> {
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

    async fn update(client: &ZpaClient, id: &str, body: &MgmtMicrotenant, _: &Scope) -> Result<(), ZpaError> {
        client.update_microtenant(id, body).await
    }

    async fn delete(client: &ZpaClient, id: &str, _: &Scope) -> Result<(), ZpaError> {
        client.delete_microtenant(id).await
    }
}
