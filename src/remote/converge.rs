//! The converge step: observe, decide, write. One function for every kind,
//! called by the controller for each reconcile and by `plan`/`sync` for each
//! manifest, so the CLI's answer is the controller's answer by construction.
//!
//! ```text
//! Prepared (kind's prepare: tenant, desired, create-desired, scope)
//!   ─▶ observe (snapshot, or GET by id) ─▶ target::choose ─▶ plan ─▶ write ─▶ Outcome
//!                                             │                        │
//!                  Journal::manage (id, adopted) ┘    Journal: marker before POST, id right after
//! ```
//!
//! The decisions are the pure core's ([`crate::reconcile::target::choose`],
//! [`crate::reconcile::plan()`]); this module does the ZPA I/O around them.
//! What must be persisted between reads and writes for crash safety (the
//! create-pending marker, the id) goes through the caller's [`Journal`]: the
//! controller writes it on the custom resource, the CLI keeps nothing.

use std::future::Future;
use std::time::Duration;

use super::calls::{Updated, create, delete as delete_remote, observe, update};
use super::kind::{Created, Prepared, RemoteKind};
use super::tenant::Tenant;
use crate::crd::{Adoption, ManagementPolicy};
use crate::reconcile::{FieldChange, Found, Identity, Plan, ReconcileError, RemoteObject, Target, plan, target};
use crate::zpa::{Scope, ZpaError};

/// How a converge step may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub adoption: Adoption,
    pub policy: ManagementPolicy,
    pub writes: Writes,
}

/// Whether a converge step writes to ZPA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    Apply,
    /// Decide only (`plan`): report what would be written.
    DryRun,
}

/// What a converge step found and did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<R> {
    /// A create that was started may still show up in ZPA: look again after this long.
    Wait(Duration),
    /// The remote object matches the spec: nothing written.
    InSync { id: String, remote: R },
    /// `ObserveOnly`, and the remote object differs: reported, never written.
    Drift { id: String, remote: R, changes: Vec<FieldChange> },
    /// Dry run: the object would be created.
    WouldCreate,
    /// Dry run: the object would be updated with these changes.
    WouldUpdate { id: String, remote: R, changes: Vec<FieldChange> },
    /// Created; the answer holds what ZPA shows only once.
    Created(Box<Created<R>>),
    /// Updated with the planned changes; `sent` is the full object written.
    Updated { id: String, changes: Vec<FieldChange>, sent: R },
    /// The object disappeared between the observation and the update.
    Gone { id: String },
    /// The read before the update needed other changes than planned (someone
    /// changed the object meanwhile): nothing written; the snapshot now holds
    /// that read, so the next step plans from it.
    Outdated { id: String, remote: R },
}

/// How far a step got before it failed: what the caller's status may still say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reached {
    /// Nothing decided yet (observing, choosing).
    Nothing,
    /// Managing this existing remote object (its id is persisted).
    Existing { id: String },
    /// Creating one.
    Creating,
}

/// A failed step, and how far it got.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Stopped {
    pub reached: Reached,
    #[source]
    pub error: ReconcileError,
}

/// What the caller persists (and tells) between a step's reads and writes,
/// each at the one point where crash safety needs it.
pub trait Journal<R>: Sync {
    /// An existing remote object is the one to manage, before anything is
    /// written to it; `adopted` when it is new to us (found by name or `externalId`).
    fn manage(&self, id: &str, adopted: bool) -> impl Future<Output = Result<(), ReconcileError>> + Send;
    /// The recorded remote object no longer exists (a list of its scope
    /// does not hold it); its name is looked up before anything is created.
    fn vanished(&self, id: &str) -> impl Future<Output = ()> + Send;
    /// Right before the POST: the create-pending marker, so a restart after
    /// it looks for the object instead of creating a second one.
    fn create_pending(&self, name: &str) -> impl Future<Output = Result<(), ReconcileError>> + Send;
    /// The POST was refused (a definite answer: nothing was created).
    fn create_refused(&self) -> impl Future<Output = Result<(), ReconcileError>> + Send;
    /// Right after the POST: what only the answer holds, then the id.
    fn created(&self, created: &Created<R>) -> impl Future<Output = Result<(), ReconcileError>> + Send;
}

/// The journal of a caller that keeps nothing between runs (the CLI).
pub struct NoJournal;

impl<R: Sync> Journal<R> for NoJournal {
    async fn manage(&self, _: &str, _: bool) -> Result<(), ReconcileError> {
        Ok(())
    }
    async fn vanished(&self, _: &str) {}
    async fn create_pending(&self, _: &str) -> Result<(), ReconcileError> {
        Ok(())
    }
    async fn create_refused(&self) -> Result<(), ReconcileError> {
        Ok(())
    }
    async fn created(&self, _: &Created<R>) -> Result<(), ReconcileError> {
        Ok(())
    }
}

/// One converge step for the object `prepared` describes, which records
/// `identity` about its remote object.
pub async fn converge<K: RemoteKind>(
    prepared: &Prepared<K>,
    identity: &Identity,
    rules: Rules,
    journal: &impl Journal<K::Remote>,
) -> Result<Outcome<K::Remote>, Stopped> {
    let mut reached = Reached::Nothing;
    step(prepared, identity, rules, journal, &mut reached).await.map_err(|error| Stopped { reached, error })
}

async fn step<K: RemoteKind>(
    prepared: &Prepared<K>,
    identity: &Identity,
    rules: Rules,
    journal: &impl Journal<K::Remote>,
    reached: &mut Reached,
) -> Result<Outcome<K::Remote>, ReconcileError> {
    let Prepared { tenant, desired, create_desired, scope } = prepared;
    let name = K::desired_name(desired);
    let found = observe::<K>(tenant, identity, name, scope).await?;
    if let (Identity::Known(id), Found::Gone { .. }) = (identity, &found) {
        journal.vanished(id).await;
    }
    match target::choose(identity, found, rules.adoption, rules.policy)? {
        Target::Wait(wait) => Ok(Outcome::Wait(wait)),
        Target::Existing { id, remote, adopted } => {
            journal.manage(&id, adopted).await?;
            *reached = Reached::Existing { id: id.clone() };
            match plan::<K>(desired, Some(&remote), rules.policy)? {
                Plan::InSync => Ok(Outcome::InSync { id, remote }),
                Plan::Drift { changes } => Ok(Outcome::Drift { id, remote, changes }),
                Plan::Update { changes } if rules.writes == Writes::DryRun => {
                    Ok(Outcome::WouldUpdate { id, remote, changes })
                }
                Plan::Update { changes } => Ok(match update::<K>(tenant, desired, &id, scope, &changes).await? {
                    Updated::Written(sent) => Outcome::Updated { id, changes, sent },
                    Updated::AlreadyInSync(fresh) => Outcome::InSync { id, remote: fresh },
                    Updated::Outdated(fresh) => Outcome::Outdated { id, remote: fresh },
                    Updated::Gone => Outcome::Gone { id },
                }),
                Plan::Create { .. } => Err(internal("a create planned for an existing object")),
            }
        }
        Target::Absent => {
            let Plan::Create { body } = plan::<K>(create_desired.as_ref().unwrap_or(desired), None, rules.policy)?
            else {
                return Err(internal("no create planned for a missing object"));
            };
            if rules.writes == Writes::DryRun {
                return Ok(Outcome::WouldCreate);
            }
            *reached = Reached::Creating;
            journal.create_pending(name).await?;
            let created = match create::<K>(tenant, &body, scope).await {
                Ok(created) => created,
                // No answer: the marker stays, and the next step looks before it creates.
                Err(error @ ZpaError::Indeterminate { .. }) => return Err(error.into()),
                Err(error) => {
                    journal.create_refused().await?;
                    return Err(error.into());
                }
            };
            journal.created(&created).await?;
            Ok(Outcome::Created(Box::new(created)))
        }
    }
}

fn internal(what: &str) -> ReconcileError {
    ReconcileError::Internal { message: format!("converge: {what}") }
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted in ZPA.
    Deleted { id: String },
    /// Already gone: a list of its scope does not hold it.
    AlreadyGone { id: String },
    /// Left in place: ZPA keeps it whatever is asked (`what` it is: the
    /// Default Microtenant, a scope's default isolation profile).
    KeptDefault { id: String, what: &'static str },
    /// Nothing was ever created.
    Nothing,
}

/// Deletes the remote object `identity` records, or what a pending create
/// (looked up by `name`) made, in the scope `recorded` (as the API key
/// allows). ZPA's own defaults (the Default Microtenant, a scope's default
/// profile) are never deleted: they are left in place ([`Deleted::KeptDefault`]).
/// ZPA refusing (in use, or with a refusal the operator does not know) is
/// `DeleteRefused` with ZPA's words.
pub async fn delete<K: RemoteKind>(
    tenant: &Tenant,
    identity: &Identity,
    name: &str,
    recorded: &Scope,
) -> Result<Deleted, ReconcileError> {
    let scope = &K::scope_for(recorded, tenant.key_scope().await?)?;
    // The object as it is now: whether it is a default is ZPA's to say, and
    // it changes (marking another profile default unmarks this one).
    let (id, remote) = match identity.id() {
        Some(id) if K::tenant_default(id, None).is_some() => (id.to_owned(), None),
        Some(id) => match observe::<K>(tenant, identity, name, scope).await? {
            Found::ById(remote) => (id.to_owned(), Some(remote)),
            Found::Gone { .. } => return Ok(Deleted::AlreadyGone { id: id.to_owned() }),
            Found::ByName(_) => return Err(internal("a lookup by name for a known id")),
        },
        None => match observe::<K>(tenant, identity, name, scope).await? {
            Found::ByName(matches) if matches.len() > 1 => {
                let since = match identity {
                    Identity::Pending { marker, .. } => marker.at.clone(),
                    _ => String::new(),
                };
                return Err(ReconcileError::CreateIncomplete { since, name: name.to_owned(), matches: matches.len() });
            }
            Found::ByName(mut matches) => match matches.pop() {
                Some(remote) => match remote.remote_id() {
                    Some(id) => (id.to_owned(), Some(remote)),
                    None => return Err(internal("a remote object without an id")),
                },
                None => return Ok(Deleted::Nothing),
            },
            Found::ById(_) | Found::Gone { .. } => return Ok(Deleted::Nothing),
        },
    };
    if let Some(what) = K::tenant_default(&id, remote.as_ref()) {
        return Ok(Deleted::KeptDefault { id, what });
    }
    let refusal = match delete_remote::<K>(tenant, &id, scope).await {
        Ok(()) => return Ok(Deleted::Deleted { id }),
        Err(ZpaError::Invalid { id: refusal, reason, .. } | ZpaError::Conflict { id: refusal, reason }) => {
            (refusal, reason, false)
        }
        Err(ZpaError::Refused { id: refusal, reason, .. }) => (refusal, reason, true),
        Err(error) => return Err(error.into()),
    };
    // Refused: it may have become a default since it was read.
    if let Ok(fresh) = K::get(&tenant.client, &id, scope).await
        && let Some(what) = K::tenant_default(&id, Some(&fresh))
    {
        return Ok(Deleted::KeptDefault { id, what });
    }
    let (refusal, reason, unknown) = refusal;
    Err(ReconcileError::DeleteRefused { id, refusal, reason, unknown })
}
