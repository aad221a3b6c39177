//! The reconcile flow every managed kind shares, and its Kubernetes effects:
//!
//! ```text
//! paused? ─┬─ Apply:   prepare (from the cluster) ─▶ identity (metadata, status)
//!          │           ─▶ remote::converge::converge (observe, decide, write)
//!          │              with this object's journal (finalizer and marker in one
//!          │              write before the POST, finalizer before an adoption)
//!          │           ─▶ outcome ─▶ status (the id, right after a create) ─▶ events, metrics
//!          └─ Deleting: remote::converge::delete unless Orphan/ObserveOnly ─▶ finalizer off
//!                       (status on refusal)
//! ```
//!
//! Deciding and talking to ZPA is the converge step's; this module keeps the
//! custom resource's side. Kinds plug in through [`ControllerKind`]
//! (`kind.rs`): what to do right after a create, and their own status fields.
//!
//! A created object costs the API server three writes (BENCHMARKS.md): the
//! finalizer with the create-pending marker, the status with the id, and the
//! Created Event. The marker stays after the create, as Crossplane's
//! create-pending annotation does beside its create-succeeded one: the id in
//! the status (or the `external-id` annotation of older versions) supersedes it.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::backoff::Backoffs;
use super::cached::{self, Cached};
use super::context::Context;
use super::finalizer::{self, MetadataPatch, is_finalized};
use super::kind::{AT_PROVIDER, ControllerKind, KindStatus, RemoteOf, Report};
use super::sources::ClusterSources;
use crate::crd::{Condition, SYNCED, annotations, find_condition};
use crate::reconcile::conditions::{self, ConditionState, Reason, kstatus_condition, next_conditions};
use crate::reconcile::lifecycle::{self, Deletion};
use crate::reconcile::{Identity, PendingCreate, ReconcileError, ReconcileKind};
use crate::remote::converge::{self, Deleted, Journal, Outcome, Reached, Rules, Stopped, Writes};
use crate::remote::{Created, RemoteKind};
use crate::zpa::Scope;

/// The Warning event of a deletion that left one of ZPA's own defaults in place.
pub const DEFAULT_KEPT: &str = "DefaultKept";

/// The entry point the kube controller calls, with the object as its cache keeps it.
pub async fn reconcile<R: ControllerKind>(cached: Arc<Cached<R>>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = match cached.expand() {
        Ok(object) => reconcile_inner(Arc::new(object), &ctx).await,
        Err(error) => Err(error),
    };
    let label = match &result {
        Ok(_) => "success",
        Err(error) => error.reason().as_str(),
    };
    ctx.metrics.reconciled(R::Kind::KIND, label, started.elapsed());
    if result.is_ok() {
        ctx.backoffs.reset(&Backoffs::key(cached.as_ref()));
    }
    ctx.metrics.objects_in_backoff.set(ctx.backoffs.in_backoff() as i64);
    result
}

async fn reconcile_inner<R: ControllerKind>(object: Arc<R>, ctx: &Arc<Context>) -> Result<Action, ReconcileError> {
    let object = as_last_written(object, ctx);
    if is_paused(object.as_ref()) {
        let report = Report::starting(object.as_ref());
        let deleting = object.meta().deletion_timestamp.is_some();
        write_status(object.as_ref(), ctx, &report, lifecycle::paused(deleting)).await?;
        return Ok(Action::await_change());
    }
    if object.meta().deletion_timestamp.is_none() {
        return apply(object.as_ref(), ctx).await;
    }
    // Without our finalizer nothing remote was ever made for it.
    if !is_finalized(object.as_ref()) {
        return Ok(Action::await_change());
    }
    let action = cleanup(object.as_ref(), ctx).await?;
    finalizer::remove(object.as_ref(), ctx).await?;
    Ok(action)
}

/// How long to wait after a failure: the server's `retry-after`, or this
/// object's exponential backoff. Errors that waiting cannot fix come back
/// at the backoff's pace too, since references may appear (watches usually
/// bring them back sooner).
pub fn error_policy<R: ControllerKind>(object: Arc<Cached<R>>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoffs.next_delay(&Backoffs::key(object.as_ref()));
    let delay = error.retry_after().map_or(delay, |hint| hint.max(delay));
    ctx.metrics.backed_off(R::Kind::KIND, error.reason().as_str(), delay);
    tracing::debug!(object = %Backoffs::key(object.as_ref()), reason = %error.reason(), ?delay, "reconcile failed; backing off");
    Action::requeue(delay)
}

pub fn is_paused<R: Resource>(object: &R) -> bool {
    object.meta().annotations.as_ref().and_then(|a| a.get(annotations::PAUSED)).is_some_and(|v| v == "true")
}

fn status_id<R: ControllerKind>(object: &R) -> Option<&str> {
    object.managed_status()?.id.as_deref()
}

fn status_conditions<R: ControllerKind>(object: &R) -> &[Condition] {
    object.managed_status().map_or(&[], |s| &s.conditions)
}

/// The remote name: `spec.name`, else `metadata.name`.
pub fn remote_name<R: ControllerKind>(object: &R) -> String {
    object.managed().remote_name(&object.name_any())
}

/// What the object records about its remote identity.
pub fn identity_of<R: ControllerKind>(object: &R) -> Identity {
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
    fn starting<M: ControllerKind>(object: &M) -> Self {
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
            terminal: false,
            created: false,
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

async fn apply<R: ControllerKind>(object: &R, ctx: &Context) -> Result<Action, ReconcileError> {
    let mut report = Report::starting(object);
    let result = sync(object, ctx, &mut report).await;
    report.terminal = result.as_ref().is_err_and(|error| !error.is_retryable());
    let synced = lifecycle::synced(result.as_ref().map(|_| report.drift.as_slice()));
    // Right after a create, this write is what makes the id durable.
    let requeue_hint = write_status(object, ctx, &report, synced).await?;
    let written = match result {
        Ok(written) => written,
        Err(error) => {
            // Logged once, at the level the error deserves, by `super::log_outcome`.
            ctx.publish(object, EventType::Warning, error.reason().as_str(), "Reconcile", error.to_string()).await;
            return Err(error);
        }
    };
    if let Some(Wrote { reason, action, note }) = written {
        ctx.publish(object, EventType::Normal, reason, action, note).await;
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

/// A write to ZPA that a step made, told as an Event once the status shows it.
struct Wrote {
    reason: &'static str,
    action: &'static str,
    note: String,
}

/// The Kubernetes side of one converge step: prepare from the cluster, run
/// the shared step with this object's journal, and turn its outcome into
/// the report (status), metrics, and the write to tell.
async fn sync<R: ControllerKind>(
    object: &R,
    ctx: &Context,
    report: &mut Report<RemoteOf<R>>,
) -> Result<Option<Wrote>, ReconcileError> {
    let prepared = R::Kind::prepare(object, &ClusterSources { ctx }).await?;
    report.tenant = Some(prepared.tenant.clone());
    report.scope = prepared.scope.clone();
    let managed = object.managed();
    let rules = Rules { adoption: managed.adoption(), policy: managed.management_policy(), writes: Writes::Apply };
    let identity = identity_of(object);
    let journal = ObjectJournal { object, ctx, identity: &identity };
    let outcome = match converge::converge::<R::Kind>(&prepared, &identity, rules, &journal).await {
        Ok(outcome) => outcome,
        Err(Stopped { reached, error }) => {
            match reached {
                Reached::Nothing => {}
                Reached::Existing { id } => {
                    report.id = Some(id);
                    report.ready = ConditionState::yes(Reason::Available, "");
                }
                Reached::Creating => {
                    report.id = None;
                    report.ready = ConditionState::no(Reason::Creating, "creating in ZPA");
                }
            }
            return Err(error);
        }
    };
    let available = ConditionState::yes(Reason::Available, "");
    let mut wrote = None;
    match outcome {
        Outcome::Wait(wait) => {
            report.ready =
                ConditionState::no(Reason::Creating, "waiting for a create that was started to show up in ZPA");
            report.requeue_after = Some(wait);
        }
        Outcome::InSync { id, remote } => {
            (report.id, report.remote, report.ready) = (Some(id), Some(remote), available)
        }
        Outcome::Drift { id, remote, changes } => {
            (report.id, report.remote, report.ready) = (Some(id), Some(remote), available);
            report.drift = changes;
        }
        Outcome::Updated { id, changes, sent } => {
            ctx.metrics.remote_write(R::Kind::KIND, "update");
            let summary = changes.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            let note = format!("updated ZPA object {id}: {summary}");
            wrote = Some(Wrote { reason: "Updated", action: "Update", note });
            (report.id, report.remote, report.ready) = (Some(id), Some(sent), available);
        }
        // Changed in ZPA since it was observed: the next step plans from the fresh read.
        Outcome::Outdated { id, remote } => {
            (report.id, report.remote, report.ready) = (Some(id), Some(remote), available);
            report.requeue_after = Some(Duration::ZERO);
        }
        Outcome::Gone { id } => {
            let note = format!("ZPA answered 404 for object {id} before its update; looking again");
            report.ready = ConditionState::no(Reason::Unavailable, note);
            report.id = Some(id);
            report.requeue_after = Some(Duration::ZERO);
        }
        Outcome::Created(created) => {
            ctx.metrics.remote_write(R::Kind::KIND, "create");
            let note = format!("created ZPA object {}", created.id);
            wrote = Some(Wrote { reason: "Created", action: "Create", note });
            let Created { id, remote, .. } = *created;
            (report.id, report.remote, report.ready) = (Some(id), Some(remote), available);
            report.created = true;
        }
        Outcome::WouldCreate | Outcome::WouldUpdate { .. } => {
            return Err(ReconcileError::Internal { message: "a dry-run outcome in the controller".into() });
        }
    }
    Ok(wrote)
}

/// What the converge step persists on the custom resource, and tells.
struct ObjectJournal<'a, R> {
    object: &'a R,
    ctx: &'a Context,
    identity: &'a Identity,
}

impl<R: ControllerKind> Journal<RemoteOf<R>> for ObjectJournal<'_, R> {
    /// The finalizer goes on before the object is ours to delete (an object
    /// created by this operator has it since its marker). The id is the
    /// status's to record; an `external-id` annotation of an older version
    /// that names another object follows it. An adoption is an event, with
    /// what a lost create answer held, if it matters.
    async fn manage(&self, id: &str, adopted: bool) -> Result<(), ReconcileError> {
        let (object, ctx) = (self.object, self.ctx);
        let mut patch = MetadataPatch::default().adding_finalizer(object);
        let stale = recorded_external_id(object).is_some_and(|recorded| recorded != id);
        if stale && !matches!(self.identity, Identity::External(_)) {
            patch = patch.annotation(annotations::EXTERNAL_ID, Some(id));
        }
        if let Some(answer) = patch.send(object, ctx, "add finalizer").await? {
            remember_written(ctx, answer);
        }
        if !adopted {
            return Ok(());
        }
        ctx.metrics.remote_write(R::Kind::KIND, "adopt");
        let (kind, message) = match self.identity {
            Identity::Pending { .. } => {
                let found =
                    format!("adopted existing ZPA object {id}, found by name after the answer to its create was lost");
                match object.after_lost_create(ctx).await {
                    Some(lost) => (EventType::Warning, format!("{found}; {lost}")),
                    None => (EventType::Normal, found),
                }
            }
            _ => (EventType::Normal, format!("adopted existing ZPA object {id}")),
        };
        ctx.publish(object, kind, "Adopted", "Adopt", message).await;
        Ok(())
    }

    async fn vanished(&self, id: &str) {
        let note = format!(
            "ZPA object {id} no longer exists (a list of its scope does not hold it); its name is looked up \
             before anything is created again: one object of that name is adopted, several are not guessed between"
        );
        self.ctx.publish(self.object, EventType::Warning, "RemoteObjectMissing", "Observe", note).await;
    }

    /// The finalizer and the marker, in one write held to the cached
    /// resourceVersion: a reconcile working from a stale cache (one that has
    /// not seen our last status write) fails here instead of creating twice.
    /// An `external-id` annotation of an older version goes: it names the
    /// object that vanished.
    async fn create_pending(&self, name: &str) -> Result<(), ReconcileError> {
        let (object, ctx) = (self.object, self.ctx);
        let marker = PendingCreate { at: jiff::Timestamp::now().to_string(), name: name.to_owned() };
        let value = serde_json::to_string(&marker).map_err(|error| ReconcileError::Internal {
            message: format!("cannot encode the create-pending marker: {error}"),
        })?;
        let mut patch = MetadataPatch::default()
            .precondition(object)
            .adding_finalizer(object)
            .annotation(annotations::CREATE_PENDING, Some(&value));
        if recorded_external_id(object).is_some() {
            patch = patch.annotation(annotations::EXTERNAL_ID, None);
        }
        if let Some(answer) = patch.send(object, ctx, "record create-pending marker").await? {
            remember_written(ctx, answer);
        }
        Ok(())
    }

    async fn create_refused(&self) -> Result<(), ReconcileError> {
        let patch = MetadataPatch::default().annotation(annotations::CREATE_PENDING, None);
        if let Some(answer) = patch.send(self.object, self.ctx, "clear create-pending marker").await? {
            remember_written(self.ctx, answer);
        }
        Ok(())
    }

    /// What only the answer holds (it must not fail the step: the remote
    /// object exists whatever happens there). The id is recorded by the
    /// status write that follows the step at once.
    async fn created(&self, created: &Created<RemoteOf<R>>) -> Result<(), ReconcileError> {
        self.object.after_create(self.ctx, created).await;
        Ok(())
    }
}

async fn cleanup<R: ControllerKind>(object: &R, ctx: &Context) -> Result<Action, ReconcileError> {
    let identity = identity_of(object);
    let result = match lifecycle::deletion(object.managed(), &identity) {
        Deletion::Nothing | Deletion::Keep { id: None } => return Ok(Action::await_change()),
        Deletion::Keep { id: Some(id) } => {
            let note = format!("left ZPA object {id} in place (deletionPolicy Orphan or ObserveOnly)");
            ctx.publish(object, EventType::Normal, "Orphaned", "Delete", note).await;
            return Ok(Action::await_change());
        }
        Deletion::Delete { .. } | Deletion::DeletePendingCreate => delete_remote(object, ctx, &identity).await,
    };
    match result {
        Ok(Deleted::Deleted { id }) => {
            ctx.metrics.remote_write(R::Kind::KIND, "delete");
            ctx.publish(object, EventType::Normal, "Deleted", "Delete", format!("deleted ZPA object {id}")).await;
            Ok(Action::await_change())
        }
        Ok(Deleted::AlreadyGone { id }) => {
            let note = format!("ZPA object {id} was already gone");
            ctx.publish(object, EventType::Normal, "Deleted", "Delete", note).await;
            Ok(Action::await_change())
        }
        // ZPA keeps its defaults whatever is asked: the resource goes, the
        // object stays as it is, and the user is told.
        Ok(Deleted::KeptDefault { id, what }) => {
            let note = format!(
                "left ZPA object {id} in place: it is {what}, which ZPA does not let anyone delete \
                 (deletionPolicy Delete cannot apply to it)"
            );
            ctx.publish(object, EventType::Warning, DEFAULT_KEPT, "Delete", note).await;
            Ok(Action::await_change())
        }
        Ok(Deleted::Nothing) => Ok(Action::await_change()),
        Err(error) => {
            let mut report = Report::starting(object);
            report.ready = ConditionState::no(Reason::Deleting, format!("deleting: {error}"));
            report.terminal = !error.is_retryable();
            write_status(object, ctx, &report, lifecycle::synced(Err(&error))).await?;
            ctx.publish(object, EventType::Warning, error.reason().as_str(), "Delete", error.to_string()).await;
            Err(error)
        }
    }
}

/// Deletes the remote object in the scope it was created in, without
/// resolving references that may be gone.
async fn delete_remote<R: ControllerKind>(
    object: &R,
    ctx: &Context,
    identity: &Identity,
) -> Result<Deleted, ReconcileError> {
    let tenant = super::provider::tenant_for(ctx, object.managed().provider_config_name()).await?;
    converge::delete::<R::Kind>(&tenant, identity, &remote_name(object), &object.recorded_scope()).await
}

fn recorded_external_id<R: Resource>(object: &R) -> Option<&str> {
    object.meta().annotations.as_ref().and_then(|a| a.get(annotations::EXTERNAL_ID)).map(String::as_str)
}

/// The `atProvider` the object's status shows now, from the API server.
async fn current_at_provider<R: ControllerKind>(object: &R, ctx: &Context) -> Result<Option<Value>, ReconcileError> {
    let current =
        ctx.api_for(object).get_status(&object.name_any()).await.map_err(ReconcileError::kubernetes("get status"))?;
    Ok(current.at_provider_json())
}

/// The object as this process last wrote it, when the cached copy predates
/// that write (`super::written`): a reconcile woken by our own patch works
/// from what we wrote, not from what it replaced.
fn as_last_written<R: ControllerKind>(object: Arc<R>, ctx: &Context) -> Arc<R> {
    ctx.written.newer_than(object.as_ref()).unwrap_or(object)
}

/// Writes the status when it differs from the current one (server-side
/// apply, our own field manager). Returns the kind's requeue hint.
async fn write_status<R: ControllerKind>(
    object: &R,
    ctx: &Context,
    report: &Report<RemoteOf<R>>,
    synced: ConditionState,
) -> Result<Option<Duration>, ReconcileError> {
    let now = jiff::Timestamp::now().to_string();
    let generation = object.meta().generation;
    let previous = object.managed_status().cloned().unwrap_or_default();
    let mut conditions = next_conditions(&previous.conditions, &report.ready, &synced, generation, &now);
    if let Some((type_, state)) = kstatus_condition(&report.ready, &synced, report.terminal) {
        conditions.push(conditions::next(&previous.conditions, type_, &state, generation, &now));
    }
    let was_synced = find_condition(&previous.conditions, SYNCED).is_some_and(|c| c.status == "True");
    let last_sync_time = if synced.status && !was_synced { Some(now) } else { previous.last_sync_time };
    let KindStatus { fields: mut status, requeue } = object.status_fields(report).await;
    status.insert("id".into(), json!(report.id));
    status.insert("observedGeneration".into(), json!(generation));
    status.insert("conditions".into(), json!(conditions));
    status.insert("lastSyncTime".into(), json!(last_sync_time));
    let mut status = crate::reconcile::diff::strip_nulls(&Value::Object(status));
    let observed = status.as_object_mut().and_then(|fields| fields.remove(AT_PROVIDER));
    let kept = cached::at_provider_digest(object);
    let observation_unchanged = observed.as_ref().is_none_or(|observed| Some(cached::digest(observed)) == kept);
    if observation_unchanged && status == object.status_json() {
        return Ok(requeue);
    }
    let observed = match observed {
        Some(observed) => Some(observed),
        // Nothing new observed: the status keeps what it shows, which the
        // cache holds only as a digest. One read, and only before a write.
        None if kept.is_some() => current_at_provider(object, ctx).await?,
        None => None,
    };
    if let (Some(observed), Some(fields)) = (observed, status.as_object_mut()) {
        fields.insert(AT_PROVIDER.into(), observed);
    }
    let patch = json!({"apiVersion": R::API_VERSION, "kind": R::kind(&()), "status": status});
    let written = ctx
        .api_for(object)
        .patch_status(
            &object.name_any(),
            &PatchParams::apply(&ctx.settings.field_manager).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(ReconcileError::kubernetes("patch status"))?;
    remember_written(ctx, written);
    ctx.metrics.status_written(R::Kind::KIND);
    Ok(requeue)
}

/// Keeps the API server's answer to a write of ours until the watch shows
/// it, trimmed as the cache trims what it holds.
fn remember_written<R: ControllerKind>(ctx: &Context, mut answer: R) {
    cached::trim(&mut answer);
    ctx.written.record(answer);
}
