//! The reconcile flow every managed kind shares:
//!
//! ```text
//! paused? ─▶ finalizer ─┬─ Apply:   prepare (tenant, references) ─▶ identity ─▶ observe ─▶ choose target
//!                       │           ─▶ plan ─▶ create (pending marker, POST, id) | update | nothing ─▶ status
//!                       └─ Cleanup: delete remotely unless Orphan/ObserveOnly ─▶ status on refusal
//! ```
//!
//! Kinds plug in through [`ManagedResource`]: how to build the desired state,
//! what to do right after a create, and their own status fields.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{self, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::backoff::Backoffs;
use super::context::Context;
use crate::crd::{Condition, FINALIZER, ManagedFields, ManagedStatus, SYNCED, annotations, find_condition};
use crate::reconcile::conditions::{ConditionState, Reason, next_conditions};
use crate::reconcile::lifecycle::{self, Deletion};
use crate::reconcile::{FieldChange, Found, Identity, PendingCreate, Plan, ReconcileError, Target, plan};
use crate::remote::{self, Created, RemoteKind, Tenant, Updated};
use crate::zpa::{Scope, ZpaError};

/// What a reconcile needs that depends on the kind.
pub struct Prepared<K: RemoteKind> {
    pub tenant: Arc<Tenant>,
    pub desired: K::Desired,
    /// The desired state of a create, with tenant defaults filled in where
    /// the spec leaves a required field unmanaged.
    pub create_desired: Option<K::Desired>,
    /// The Microtenant scope, for kinds that have one.
    pub scope: Scope,
}

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
}

/// A custom resource kind the operator manages in ZPA.
pub trait ManagedResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Kind: RemoteKind;
    const API_VERSION: &'static str = "zpa.operator.dev/v1alpha1";

    fn managed(&self) -> &ManagedFields;
    /// The status fields every managed kind has.
    fn managed_status(&self) -> Option<&ManagedStatus>;
    /// The whole current status as JSON (to compare with the next one).
    fn status_json(&self) -> Value;

    fn prepare(&self, ctx: &Context) -> impl Future<Output = Result<Prepared<Self::Kind>, ReconcileError>> + Send;

    /// The scope to delete in, without resolving references that may be gone.
    fn recorded_scope(&self) -> Scope {
        Scope::Default
    }

    /// Runs right after a create, before the id is recorded. It must not
    /// fail the reconcile: the remote object exists whatever happens here.
    fn after_create(
        &self,
        _ctx: &Context,
        _created: &Created<<Self::Kind as crate::reconcile::ManagedKind>::Remote>,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Runs when a create whose answer was lost is adopted by name: what the
    /// lost answer held that cannot be had again, for the Adopted event.
    fn after_lost_create(&self, _ctx: &Context) -> impl Future<Output = Option<String>> + Send {
        async { None }
    }

    /// Kind-specific status fields (`atProvider`, ...), merged into the status.
    fn status_fields(
        &self,
        report: &Report<<Self::Kind as crate::reconcile::ManagedKind>::Remote>,
    ) -> impl Future<Output = (Map<String, Value>, Option<Duration>)> + Send;
}

type RemoteOf<R> = <<R as ManagedResource>::Kind as crate::reconcile::ManagedKind>::Remote;

/// The entry point the kube controller calls.
pub async fn reconcile<R: ManagedResource>(object: Arc<R>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = reconcile_inner(object.clone(), &ctx).await;
    let label = match &result {
        Ok(_) => "success",
        Err(error) => error.reason().as_str(),
    };
    ctx.metrics.reconciled(R::Kind::KIND, label, started.elapsed());
    if result.is_ok() {
        ctx.backoffs.reset(&Backoffs::key(object.as_ref()));
    }
    ctx.metrics.objects_in_backoff.set(ctx.backoffs.in_backoff() as i64);
    result
}

async fn reconcile_inner<R: ManagedResource>(object: Arc<R>, ctx: &Arc<Context>) -> Result<Action, ReconcileError> {
    if is_paused(object.as_ref()) {
        let report = Report::starting(object.as_ref());
        let deleting = object.meta().deletion_timestamp.is_some();
        write_status(object.as_ref(), ctx, &report, lifecycle::paused(deleting)).await?;
        return Ok(Action::await_change());
    }
    let api = api_for(object.as_ref(), ctx);
    finalizer(&api, FINALIZER, object, |event| async move {
        match event {
            finalizer::Event::Apply(object) => apply(object.as_ref(), ctx).await,
            finalizer::Event::Cleanup(object) => cleanup(object.as_ref(), ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => inner,
        finalizer::Error::AddFinalizer(source) | finalizer::Error::RemoveFinalizer(source) => {
            ReconcileError::Kubernetes { operation: "patch finalizers", source }
        }
        other => ReconcileError::InvalidSpec { message: other.to_string() },
    })
}

/// How long to wait after a failure: the server's `retry-after`, or this
/// object's exponential backoff. Errors that waiting cannot fix come back
/// at the backoff's pace too, since references may appear (watches usually
/// bring them back sooner).
pub fn error_policy<R: ManagedResource>(object: Arc<R>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoffs.next_delay(&Backoffs::key(object.as_ref()));
    let delay = error.retry_after().map_or(delay, |hint| hint.max(delay));
    ctx.metrics.backed_off(R::Kind::KIND, error.reason().as_str(), delay);
    tracing::debug!(object = %Backoffs::key(object.as_ref()), reason = %error.reason(), ?delay, "reconcile failed; backing off");
    Action::requeue(delay)
}

fn api_for<R: ManagedResource>(object: &R, ctx: &Context) -> Api<R> {
    Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default())
}

pub fn is_paused<R: Resource>(object: &R) -> bool {
    object.meta().annotations.as_ref().and_then(|a| a.get(annotations::PAUSED)).is_some_and(|v| v == "true")
}

fn status_id<R: ManagedResource>(object: &R) -> Option<&str> {
    object.managed_status()?.id.as_deref()
}

fn status_conditions<R: ManagedResource>(object: &R) -> &[Condition] {
    object.managed_status().map_or(&[], |s| &s.conditions)
}

/// The remote name: `spec.name`, else `metadata.name`.
pub fn remote_name<R: ManagedResource>(object: &R) -> String {
    object.managed().name.clone().unwrap_or_else(|| object.name_any())
}

/// What the object records about its remote identity.
pub fn identity_of<R: ManagedResource>(object: &R) -> Identity {
    let annotations = object.meta().annotations.clone().unwrap_or_default();
    if let Some(external) = &object.managed().external_id {
        return Identity::External(external.clone());
    }
    if let Some(id) = annotations.get(annotations::EXTERNAL_ID).map(String::as_str).or(status_id(object)) {
        return Identity::Known(id.to_owned());
    }
    if let Some(raw) = annotations.get(annotations::CREATE_PENDING) {
        let marker = serde_json::from_str::<PendingCreate>(raw)
            .unwrap_or_else(|_| PendingCreate { at: raw.clone(), name: remote_name(object) });
        let age = jiff::Timestamp::now()
            .duration_since(marker.at.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH))
            .try_into()
            .unwrap_or(Duration::MAX);
        return Identity::Pending { marker, age };
    }
    Identity::Fresh
}

impl<R> Report<R> {
    fn starting<M: ManagedResource>(object: &M) -> Self {
        let ready = find_condition(status_conditions(object), crate::crd::READY)
            .map(|c| ConditionState {
                status: c.status == "True",
                reason: reason_from(&c.reason),
                message: c.message.clone(),
            })
            .unwrap_or_else(|| ConditionState::no(Reason::Unavailable, "not reconciled yet"));
        Self {
            id: status_id(object).map(str::to_owned),
            remote: None,
            ready,
            drift: Vec::new(),
            tenant: None,
            scope: Scope::Default,
            requeue_after: None,
        }
    }
}

/// Reads a previous condition's reason back (unknown text keeps the condition unavailable).
fn reason_from(text: &str) -> Reason {
    [Reason::Available, Reason::Creating, Reason::Updating, Reason::Deleting]
        .into_iter()
        .find(|r| r.as_str() == text)
        .unwrap_or(Reason::Unavailable)
}

async fn apply<R: ManagedResource>(object: &R, ctx: &Context) -> Result<Action, ReconcileError> {
    let mut report = Report::starting(object);
    let result = sync(object, ctx, &mut report).await;
    let synced = lifecycle::synced(result.as_ref().map(|()| report.drift.as_slice()));
    let requeue_hint = write_status(object, ctx, &report, synced).await?;
    if let Err(error) = &result {
        ctx.publish(object, EventType::Warning, error.reason().as_str(), "Reconcile", error.to_string()).await;
        return result.map(|()| Action::await_change());
    }
    let soonest = [report.requeue_after, requeue_hint].into_iter().flatten().min();
    Ok(Action::requeue(soonest.unwrap_or_else(|| resync_after(object, ctx))))
}

/// The resync interval plus up to 10 % jitter derived from the uid, so
/// objects created together do not resync together.
fn resync_after<R: Resource>(object: &R, ctx: &Context) -> Duration {
    let uid = object.meta().uid.clone().unwrap_or_default();
    let spread = uid.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 1000;
    ctx.settings.resync_interval.mul_f64(1.0 + f64::from(spread) / 10_000.0)
}

async fn sync<R: ManagedResource>(
    object: &R,
    ctx: &Context,
    report: &mut Report<RemoteOf<R>>,
) -> Result<(), ReconcileError> {
    let prepared = object.prepare(ctx).await?;
    let Prepared { tenant, desired, create_desired, scope } = prepared;
    report.tenant = Some(tenant.clone());
    report.scope = scope.clone();
    let managed = object.managed();
    let policy = managed.management_policy();
    let identity = identity_of(object);
    let name = <R::Kind as crate::reconcile::ManagedKind>::desired_name(&desired).to_owned();

    let found: Found<RemoteOf<R>> = remote::observe::<R::Kind>(&tenant, &identity, &name, &scope).await?;
    match crate::reconcile::target::choose(&identity, found, managed.adoption(), policy)? {
        Target::Wait(wait) => {
            report.ready =
                ConditionState::no(Reason::Creating, "waiting for a create that was started to show up in ZPA");
            report.requeue_after = Some(wait);
            Ok(())
        }
        Target::Existing { id, remote, adopted } => {
            if !matches!(identity, Identity::External(_)) && recorded_external_id(object) != Some(id.as_str()) {
                record_id(object, ctx, &id).await?;
            }
            if adopted {
                ctx.metrics.remote_write(R::Kind::KIND, "adopt");
                let (kind, message) = match identity {
                    Identity::Pending { .. } => match object.after_lost_create(ctx).await {
                        Some(lost) => (
                            EventType::Warning,
                            format!(
                                "adopted existing ZPA object {id}, found by name after the answer to its create was lost; {lost}"
                            ),
                        ),
                        None => (
                            EventType::Normal,
                            format!(
                                "adopted existing ZPA object {id}, found by name after the answer to its create was lost"
                            ),
                        ),
                    },
                    _ => (EventType::Normal, format!("adopted existing ZPA object {id}")),
                };
                ctx.publish(object, kind, "Adopted", "Adopt", message).await;
            }
            report.id = Some(id.clone());
            report.ready = ConditionState::yes(Reason::Available, "");
            match plan::<R::Kind>(&desired, Some(&remote), policy)? {
                Plan::InSync | Plan::Create { .. } => report.remote = Some(remote),
                Plan::Drift { changes } => {
                    report.remote = Some(remote);
                    report.drift = changes;
                }
                Plan::Update { .. } => match remote::update::<R::Kind>(&tenant, &desired, &id, &scope).await? {
                    Updated::Written(changes, sent) => {
                        ctx.metrics.remote_write(R::Kind::KIND, "update");
                        let summary = changes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                        ctx.publish(
                            object,
                            EventType::Normal,
                            "Updated",
                            "Update",
                            format!("updated ZPA object {id}: {summary}"),
                        )
                        .await;
                        report.remote = Some(sent);
                    }
                    Updated::AlreadyInSync(fresh) => report.remote = Some(fresh),
                    Updated::Gone => {
                        report.ready = ConditionState::no(Reason::Unavailable, format!("ZPA object {id} disappeared"));
                        report.requeue_after = Some(Duration::ZERO);
                    }
                },
            }
            Ok(())
        }
        Target::Absent { vanished_id } => {
            if let Some(old) = &vanished_id {
                let note = format!("ZPA object {old} no longer exists; it will be created again");
                ctx.publish(object, EventType::Warning, "RemoteObjectMissing", "Observe", note).await;
            }
            let create_desired = create_desired.as_ref().unwrap_or(&desired);
            let Plan::Create { body } = plan::<R::Kind>(create_desired, None, policy)? else {
                return Ok(());
            };
            report.ready = ConditionState::no(Reason::Creating, "creating in ZPA");
            report.id = None;
            mark_create_pending(object, ctx, &name).await?;
            let created = match remote::create::<R::Kind>(&tenant, &body, &scope).await {
                Ok(created) => created,
                // No answer: the marker stays, and the next reconcile looks before it creates.
                Err(error @ ZpaError::Indeterminate { .. }) => return Err(error.into()),
                Err(error) => {
                    clear_create_pending(object, ctx).await?;
                    return Err(error.into());
                }
            };
            object.after_create(ctx, &created).await;
            record_id(object, ctx, &created.id).await?;
            ctx.metrics.remote_write(R::Kind::KIND, "create");
            ctx.publish(object, EventType::Normal, "Created", "Create", format!("created ZPA object {}", created.id))
                .await;
            report.id = Some(created.id);
            report.remote = Some(created.remote);
            report.ready = ConditionState::yes(Reason::Available, "");
            Ok(())
        }
    }
}

async fn cleanup<R: ManagedResource>(object: &R, ctx: &Context) -> Result<Action, ReconcileError> {
    let result = match lifecycle::deletion(object.managed(), &identity_of(object)) {
        Deletion::Nothing | Deletion::Keep { id: None } => return Ok(Action::await_change()),
        Deletion::Keep { id: Some(id) } => {
            let note = format!("left ZPA object {id} in place (deletionPolicy Orphan or ObserveOnly)");
            ctx.publish(object, EventType::Normal, "Orphaned", "Delete", note).await;
            return Ok(Action::await_change());
        }
        Deletion::Delete { id } => delete_remote(object, ctx, Some(id)).await,
        Deletion::DeletePendingCreate => delete_remote(object, ctx, None).await,
    };
    match result {
        Ok(Some(id)) => {
            ctx.metrics.remote_write(R::Kind::KIND, "delete");
            ctx.publish(object, EventType::Normal, "Deleted", "Delete", format!("deleted ZPA object {id}")).await;
            Ok(Action::await_change())
        }
        Ok(None) => Ok(Action::await_change()),
        Err(error) => {
            let mut report = Report::starting(object);
            report.ready = ConditionState::no(Reason::Deleting, format!("deleting: {error}"));
            write_status(object, ctx, &report, lifecycle::synced(Err(&error))).await?;
            ctx.publish(object, EventType::Warning, error.reason().as_str(), "Delete", error.to_string()).await;
            Err(error)
        }
    }
}

/// Deletes the remote object (`id`, or what a pending create made); returns
/// the id deleted, if there was one.
async fn delete_remote<R: ManagedResource>(
    object: &R,
    ctx: &Context,
    id: Option<String>,
) -> Result<Option<String>, ReconcileError> {
    let tenant = super::provider::tenant_for(ctx, object.managed().provider_config_name()).await?;
    let scope = object.recorded_scope();
    let id = match id {
        Some(id) => id,
        None => {
            let identity = identity_of(object);
            match remote::observe::<R::Kind>(&tenant, &identity, &remote_name(object), &scope).await? {
                Found::ByName(matches) if matches.is_empty() => return Ok(None),
                Found::ByName(matches) if matches.len() == 1 => {
                    match crate::reconcile::RemoteObject::remote_id(&matches[0]) {
                        Some(id) => id.to_owned(),
                        None => return Ok(None),
                    }
                }
                Found::ByName(matches) => {
                    let since = match &identity {
                        Identity::Pending { marker, .. } => marker.at.clone(),
                        _ => String::new(),
                    };
                    return Err(ReconcileError::CreateIncomplete {
                        since,
                        name: remote_name(object),
                        matches: matches.len(),
                    });
                }
                Found::ById(_) => return Ok(None),
            }
        }
    };
    match remote::delete::<R::Kind>(&tenant, &id, &scope).await {
        Ok(()) => Ok(Some(id)),
        Err(ZpaError::Invalid { reason, .. } | ZpaError::Conflict { reason, .. }) => {
            Err(ReconcileError::DeleteRefused { id, reason })
        }
        Err(error) => Err(error.into()),
    }
}

fn recorded_external_id<R: Resource>(object: &R) -> Option<&str> {
    object.meta().annotations.as_ref().and_then(|a| a.get(annotations::EXTERNAL_ID)).map(String::as_str)
}

/// Persists the create-pending marker before the POST. The resourceVersion
/// precondition makes a reconcile working from a stale cache (one that has
/// not seen our last id write) fail here instead of creating twice.
async fn mark_create_pending<R: ManagedResource>(object: &R, ctx: &Context, name: &str) -> Result<(), ReconcileError> {
    let marker = PendingCreate { at: jiff::Timestamp::now().to_string(), name: name.to_owned() };
    let value = serde_json::to_string(&marker).unwrap_or_default();
    let patch = json!({"metadata": {
        "resourceVersion": object.resource_version(),
        "annotations": {annotations::CREATE_PENDING: value},
    }});
    patch_metadata(object, ctx, &patch, "record create-pending marker").await
}

async fn clear_create_pending<R: ManagedResource>(object: &R, ctx: &Context) -> Result<(), ReconcileError> {
    let patch = json!({"metadata": {"annotations": {annotations::CREATE_PENDING: null}}});
    patch_metadata(object, ctx, &patch, "clear create-pending marker").await
}

/// Persists the remote id in metadata (it survives status loss) and clears the marker.
async fn record_id<R: ManagedResource>(object: &R, ctx: &Context, id: &str) -> Result<(), ReconcileError> {
    let patch = json!({"metadata": {"annotations": {annotations::EXTERNAL_ID: id, annotations::CREATE_PENDING: null}}});
    patch_metadata(object, ctx, &patch, "record external id").await
}

async fn patch_metadata<R: ManagedResource>(
    object: &R,
    ctx: &Context,
    patch: &Value,
    operation: &'static str,
) -> Result<(), ReconcileError> {
    let params = PatchParams { field_manager: Some(ctx.settings.field_manager.clone()), ..PatchParams::default() };
    api_for(object, ctx)
        .patch(&object.name_any(), &params, &Patch::Merge(patch))
        .await
        .map(|_| ())
        .map_err(ReconcileError::kubernetes(operation))
}

/// Writes the status when it differs from the current one (server-side
/// apply, our own field manager). Returns the kind's requeue hint.
async fn write_status<R: ManagedResource>(
    object: &R,
    ctx: &Context,
    report: &Report<RemoteOf<R>>,
    synced: ConditionState,
) -> Result<Option<Duration>, ReconcileError> {
    let now = jiff::Timestamp::now().to_string();
    let generation = object.meta().generation;
    let previous = object.managed_status().cloned().unwrap_or_default();
    let conditions = next_conditions(&previous.conditions, &report.ready, &synced, generation, &now);
    let was_synced = find_condition(&previous.conditions, SYNCED).is_some_and(|c| c.status == "True");
    let last_sync_time = if synced.status && !was_synced { Some(now) } else { previous.last_sync_time };
    let (mut status, requeue) = object.status_fields(report).await;
    status.insert("id".into(), json!(report.id));
    status.insert("observedGeneration".into(), json!(generation));
    status.insert("conditions".into(), json!(conditions));
    status.insert("lastSyncTime".into(), json!(last_sync_time));
    let status = crate::reconcile::diff::strip_nulls(&Value::Object(status));
    if status == object.status_json() {
        return Ok(requeue);
    }
    let patch = json!({"apiVersion": R::API_VERSION, "kind": R::kind(&()), "status": status});
    api_for(object, ctx)
        .patch_status(
            &object.name_any(),
            &PatchParams::apply(&ctx.settings.field_manager).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(ReconcileError::kubernetes("patch status"))?;
    ctx.metrics.status_written(R::Kind::KIND);
    Ok(requeue)
}
