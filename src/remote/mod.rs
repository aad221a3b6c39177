//! The ZPA side of a reconcile: the converge step ([`converge`]) every kind
//! and both callers (controller, CLI) share, observation from list
//! snapshots, name resolution, and the writes. Knows the ZPA client, not
//! Kubernetes.
//!
//! - `converge.rs`: observe -> decide -> write, and delete;
//! - `kinds.rs`: per kind, its ZPA calls and its `prepare` (spec + references -> desired);
//! - `tenant.rs`: one ZPA tenant (client and caches) per provider config;
//! - `credentials.rs`: a provider config's credentials Secret -> typed credentials;
//! - `snapshot.rs`, `packed.rs`: list snapshots; `references.rs`: names -> ids.
//!
//! The primitives below (`observe`, `create`, `update`, `delete`) are this
//! module's own: callers go through [`converge`].

pub mod converge;
#[cfg(test)]
mod converge_tests;
pub mod credentials;
pub mod kinds;
pub mod packed;
pub mod references;
pub mod snapshot;
pub mod tenant;

use crate::reconcile::{FieldChange, Found, Identity, ReconcileError, diff};
use crate::zpa::{Scope, ZpaError};
pub use kinds::{Created, RemoteKind};
use packed::Packed;
pub use tenant::{Tenant, TenantDefaults, TenantRegistry};

use std::sync::Arc;

use tokio::time::Instant;

/// Looks up what `identity` asks for: by id from the snapshot (confirmed
/// with a GET when the snapshot does not have it), or by name.
///
/// An object is gone only when a list of its scope does not hold it: a GET
/// answered 404 is followed by a list started after that answer, and only
/// its verdict counts ([`Found::Gone`], with the objects of that list that
/// carry `desired_name`, so nothing is created again before the name is
/// looked up). A "not mapped" answer (`CbiNotAvailable`) is an error, never "gone".
async fn observe<K: RemoteKind>(
    tenant: &Tenant,
    identity: &Identity,
    desired_name: &str,
    scope: &Scope,
) -> Result<Found<K::Remote>, ZpaError> {
    let key = K::scope_key(scope);
    let snapshots = tenant.snapshots::<K::Remote>();
    let load = || list_with_ids::<K>(tenant, scope);
    if let Some(id) = identity.id() {
        let cached = snapshots.with_fresh(&key, load, |all| all.get(id).map(|p| p.unpack())).await?.transpose()?;
        if let Some(remote) = cached {
            return Ok(Found::ById(remote));
        }
        match K::get(&tenant.client, id, scope).await {
            Ok(remote) => {
                record::<K>(tenant, &key, id, &remote);
                return Ok(Found::ById(remote));
            }
            Err(ZpaError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        let answered = Instant::now();
        let (listed, named) = snapshots
            .with_listed_since(&key, answered, load, |all| {
                (all.get(id).map(|p| p.unpack()), named::<K>(all, desired_name))
            })
            .await?;
        return match listed.transpose()? {
            Some(remote) => Ok(Found::ById(remote)),
            None => Ok(Found::Gone { named: named? }),
        };
    }
    let name = identity.lookup_name(desired_name).unwrap_or(desired_name);
    let matches = snapshots.with_fresh(&key, load, |all| named::<K>(all, name)).await??;
    // A pending create may have happened after the snapshot was taken (by a
    // replica that died before recording the id): before concluding it never
    // happened, look in a fresh list. Our own creates are already in the
    // snapshot, so this re-list is only paid when the object is not there.
    if matches.is_empty() && matches!(identity, Identity::Pending { .. }) {
        snapshots.invalidate(&key);
        let fresh = snapshots.with_fresh(&key, load, |all| named::<K>(all, name)).await??;
        return Ok(Found::ByName(fresh));
    }
    Ok(Found::ByName(matches))
}

/// The objects of a snapshot named `name` (case-insensitively), by the
/// snapshot's name index.
fn named<K: RemoteKind>(all: &snapshot::Entries<Packed<K::Remote>>, name: &str) -> Result<Vec<K::Remote>, ZpaError> {
    all.named(name).map(|p| p.unpack()).collect()
}

/// Whether a list of the scope, started after now, still holds the object:
/// what a 404 for it is checked against.
async fn still_listed<K: RemoteKind>(tenant: &Tenant, id: &str, scope: &Scope) -> Result<bool, ZpaError> {
    let answered = Instant::now();
    let load = || list_with_ids::<K>(tenant, scope);
    tenant
        .snapshots::<K::Remote>()
        .with_listed_since(&K::scope_key(scope), answered, load, |all| all.get(id).is_some())
        .await
}

async fn list_with_ids<K: RemoteKind>(
    tenant: &Tenant,
    scope: &Scope,
) -> Result<Vec<(String, Arc<Packed<K::Remote>>)>, ZpaError> {
    let all = K::list(&tenant.client, scope).await?;
    Ok(all.into_iter().filter_map(|listed| Some((listed.id?, Arc::new(listed.packed)))).collect())
}

/// Writes what we now know of an object into its scope's snapshot; if it
/// cannot be stored, the snapshot must not go on claiming the old state.
fn record<K: RemoteKind>(tenant: &Tenant, key: &str, id: &str, remote: &K::Remote) {
    match Packed::pack(remote) {
        Ok(packed) => tenant.snapshots::<K::Remote>().upsert(key, id, packed),
        Err(error) => {
            tracing::warn!(%error, "dropping a snapshot that cannot record a write");
            tenant.snapshots::<K::Remote>().invalidate(key);
        }
    }
}

/// Creates the object and records it in the snapshot.
async fn create<K: RemoteKind>(
    tenant: &Tenant,
    body: &K::Remote,
    scope: &Scope,
) -> Result<Created<K::Remote>, ZpaError> {
    let key = K::scope_key(scope);
    match K::create(&tenant.client, body, scope).await {
        Ok(created) => {
            record::<K>(tenant, &key, &created.id, &created.remote);
            Ok(created)
        }
        Err(error) => {
            // The snapshot missed something (a clash) or cannot know (no answer).
            if matches!(error, ZpaError::Duplicate { .. } | ZpaError::Indeterminate { .. }) {
                tenant.snapshots::<K::Remote>().invalidate(&key);
            }
            Err(error)
        }
    }
}

/// What an update did.
#[derive(Debug)]
enum Updated<R> {
    /// Written: the full object that was sent.
    Written(R),
    /// A fresh read (returned) showed nothing left to change.
    AlreadyInSync(R),
    /// A fresh read (returned) needs other changes than the planned ones:
    /// nothing written, the snapshot now holds that read.
    Outdated(R),
    /// The object is gone.
    Gone,
}

/// Writes a planned update. Reads the object fresh and checks that it needs
/// exactly the `planned` changes; then PUTs the full object, that read with
/// the desired fields laid over it, so fields others changed meanwhile survive.
async fn update<K: RemoteKind>(
    tenant: &Tenant,
    desired: &K::Desired,
    id: &str,
    scope: &Scope,
    planned: &[FieldChange],
) -> Result<Updated<K::Remote>, ReconcileError> {
    let key = K::scope_key(scope);
    let snapshots = tenant.snapshots::<K::Remote>();
    let fresh = match K::get(&tenant.client, id, scope).await {
        Ok(fresh) => fresh,
        Err(ZpaError::NotFound { .. }) => {
            snapshots.remove(&key, id);
            return Ok(Updated::Gone);
        }
        Err(error) => return Err(error.into()),
    };
    let needed = diff::<K>(desired, &fresh)?;
    if needed.is_empty() {
        record::<K>(tenant, &key, id, &fresh);
        return Ok(Updated::AlreadyInSync(fresh));
    }
    if needed != planned {
        record::<K>(tenant, &key, id, &fresh);
        return Ok(Updated::Outdated(fresh));
    }
    let body = K::update_body(desired, &fresh)?;
    K::update(&tenant.client, id, &body, scope).await?;
    record::<K>(tenant, &key, id, &body);
    Ok(Updated::Written(body))
}

/// Deletes the object; already gone counts as deleted, once a list of its
/// scope taken after the 404 agrees.
async fn delete<K: RemoteKind>(tenant: &Tenant, id: &str, scope: &Scope) -> Result<(), ZpaError> {
    match K::delete(&tenant.client, id, scope).await {
        Ok(()) => {}
        Err(ZpaError::NotFound { what }) => {
            if still_listed::<K>(tenant, id, scope).await? {
                return Err(ZpaError::Transient {
                    detail: format!("the delete was answered 404 ({what}) but a list of its scope still holds {id}"),
                });
            }
        }
        Err(error) => return Err(error),
    }
    tenant.snapshots::<K::Remote>().remove(&K::scope_key(scope), id);
    Ok(())
}
