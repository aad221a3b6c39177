//! The Kubernetes side: controllers for `Microtenant` and `IsolationProfile`
//! (and `ZpaProviderConfig` status), their watches, and the shared context.
//!
//! - `managed.rs`: the reconcile flow every managed kind shares: the Kubernetes
//!   effects (marker, id, events, status) around the shared converge step;
//! - `finalizer.rs`: the finalizer, and the metadata writes that carry it;
//! - `microtenant.rs`, `isolation_profile.rs`: what differs per kind;
//! - `sources.rs`: what a kind's `prepare` reads from the cluster;
//! - `provider.rs`: provider config -> ZPA tenant, and its Ready status;
//! - `secrets.rs`: credentials in and out; `backoff.rs`: per-object error backoff;
//! - `server.rs`: `/metrics`, `/healthz`, `/readyz`; `leader.rs`: Lease-based leader election;
//! - `cached.rs`: what the caches keep of an object (`atProvider` only as a digest);
//! - `watch.rs`: the watch streams: a 410 resumes at once, other errors back off and are reported once;
//!   one watch per kind of object, its copies teed to the other controllers that need them.

pub mod backoff;
pub mod cached;
pub mod change;
pub mod context;
pub mod finalizer;
pub mod isolation_profile;
pub mod kind;
pub mod leader;
pub mod managed;
pub mod microtenant;
pub mod provider;
pub mod secrets;
pub mod server;
pub mod sources;
pub mod watch;
pub mod written;

use std::sync::Arc;

use futures::TryStreamExt;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, future::BoxFuture};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};

pub use context::{Context, FIELD_MANAGER, Settings};
pub use kind::ControllerKind;

use crate::crd::{IsolationProfile, Microtenant, ZpaProviderConfig};
use crate::reconcile::{Owner, ReconcileError};
use cached::Cached;
use change::relevant_change;
use server::Readiness;
use watch::{Tee, watch};

/// How to run the controllers.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Namespaces to watch; empty means all.
    pub watch_namespaces: Vec<String>,
    /// Reconciles running at once per controller.
    pub concurrency: u16,
}

/// Runs every controller until a shutdown signal; `readiness` turns ready
/// once every cache has its initial list.
///
/// One watch per kind of object and namespace: the provider config
/// controller runs the ZpaProviderConfig and Secret watches, the Microtenant
/// controller the Microtenant watch, and each tees copies to the controllers
/// they also trigger.
pub async fn run_controllers(client: Client, ctx: Arc<Context>, options: RunOptions, readiness: Readiness) {
    let scopes: Vec<Option<String>> = if options.watch_namespaces.is_empty() {
        vec![None]
    } else {
        options.watch_namespaces.iter().cloned().map(Some).collect()
    };
    let mut configs_tee = Tee::default();
    let mut secrets_tees: Vec<Tee<PartialObjectMeta<Secret>>> = scopes.iter().map(|_| Tee::default()).collect();
    let mut triggers = |secrets: &mut Tee<PartialObjectMeta<Secret>>| Triggers {
        configs: configs_tee.subscribe().boxed(),
        secrets: secrets.subscribe().boxed(),
    };
    let per_scope: Vec<[Triggers; 2]> =
        secrets_tees.iter_mut().map(|secrets| [triggers(secrets), triggers(secrets)]).collect();

    let (configs, configs_writer) = reflector::store::<ZpaProviderConfig>();
    let configs_api = Api::<ZpaProviderConfig>::all(client.clone());
    let config_stream = watch(configs_api, provider_configs_watched(&ctx).any_semantic(), "ZpaProviderConfigs".into())
        .inspect(ready_after_initial_list(&readiness))
        .inspect(invalidate_changed_tenants(&ctx))
        .inspect(configs_tee.tap())
        .reflect(configs_writer)
        .applied_objects()
        .predicate_filter(|config: &ZpaProviderConfig| Some(relevant_change(config)), PredicateConfig::default());
    let mut provider_controller = Controller::for_stream(config_stream, configs.clone())
        .with_config(ControllerConfig::default().concurrency(options.concurrency))
        .shutdown_on_signal();
    // A changed credentials Secret signs in again at once: rotation and
    // fixed credentials show on the provider config without waiting out a backoff.
    for (namespace, tee) in scopes.iter().zip(secrets_tees) {
        let configs = configs.clone();
        let secrets = watch(
            namespaced_api::<PartialObjectMeta<Secret>>(&client, namespace.as_deref()),
            watcher::Config::default(),
            format!("Secrets in {}", where_(namespace.as_deref())),
        )
        .inspect(tee.tap())
        .touched_objects();
        provider_controller = provider_controller.watches_stream(secrets, move |secret| {
            let (namespace, name) = (secret.namespace().unwrap_or_default(), secret.name_any());
            configs
                .state()
                .iter()
                .filter(|c| {
                    c.spec.credentials_secret_ref.namespace == namespace && c.spec.credentials_secret_ref.name == name
                })
                .map(|c| ObjectRef::from_obj(c.as_ref()))
                .collect::<Vec<_>>()
        });
    }
    let provider_run = provider_controller
        .run(provider::reconcile, provider::error_policy, ctx.clone())
        .for_each(|result| async move { log_outcome("ZpaProviderConfig", result) })
        .boxed();
    let mut controllers: Vec<BoxFuture<'static, ()>> = vec![stop_unready_at_shutdown(provider_run, configs.clone())];

    let streamed = watch::initial_lists_streamed(&client).await;
    for (namespace, [for_microtenants, for_profiles]) in scopes.into_iter().zip(per_scope) {
        let at = namespace.as_deref();
        let shared = Shared { client: &client, streamed, configs: &configs, readiness: &readiness, options: &options };
        let mut microtenants_tee = Tee::default();
        let microtenants_for_profiles = microtenants_tee.subscribe();
        let microtenants = managed_controller::<Microtenant>(&shared, at, for_microtenants, microtenants_tee, &ctx);
        let profiles = managed_controller::<IsolationProfile>(&shared, at, for_profiles, Tee::default(), &ctx);
        let profile_store = profiles.store();
        let profiles =
            profiles.watches_stream(microtenants_for_profiles, move |mt| profiles_scoped_to(&profile_store, &mt));
        controllers.push(run_managed(microtenants, ctx.clone()));
        controllers.push(run_managed(profiles, ctx.clone()));
    }
    futures::future::join_all(controllers).await;
}

/// Counts a watch stream in `readiness` until its first full list went by.
///
/// Not `readiness.track(store)` on the Controller's own store: kube's
/// `Store::wait_until_ready` keeps only the waker of the last task that polled
/// it, and the Controller polls it too, so a second waiter is never woken and
/// `/readyz` stayed 503. The probe store here has no other waiter; the
/// stream marks it ready when it sees `InitDone`.
fn ready_after_initial_list<K>(readiness: &Readiness) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) + use<K>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let (probe, mut writer) = reflector::store::<K>();
    readiness.track(probe);
    let mut done = false;
    move |event| {
        if !done && matches!(event, Ok(watcher::Event::InitDone)) {
            writer.apply_watcher_event(&watcher::Event::InitDone);
            done = true;
        }
    }
}

/// A copy this process wrote is forgotten once the watch shows it
/// (`written.rs`), after the cache took it in: from then on the cache is at
/// least as new.
fn forget_statuses_seen<K: ControllerKind>(
    ctx: &Arc<Context>,
) -> impl FnMut(&Result<watcher::Event<Cached<K>>, watcher::Error>) + use<K> {
    let ctx = ctx.clone();
    move |event| match event {
        Ok(watcher::Event::Apply(object) | watcher::Event::InitApply(object)) => {
            ctx.written.seen(object.uid(), object.resource_version(), false)
        }
        Ok(watcher::Event::Delete(object)) => ctx.written.seen(object.uid(), object.resource_version(), true),
        Ok(watcher::Event::Init | watcher::Event::InitDone) | Err(_) => {}
    }
}

/// Provider config changes make the next reconcile rebuild its tenant from
/// the provider config and Secret; between changes, reconciles reuse it.
fn invalidate_changed_tenants(
    ctx: &Arc<Context>,
) -> impl FnMut(&Result<watcher::Event<ZpaProviderConfig>, watcher::Error>) + use<> {
    let ctx = ctx.clone();
    move |event| match event {
        Ok(watcher::Event::Apply(config) | watcher::Event::Delete(config)) => {
            ctx.tenants.invalidate(&config.name_any())
        }
        Ok(watcher::Event::Init | watcher::Event::InitDone) => ctx.tenants.invalidate_all(),
        Ok(watcher::Event::InitApply(_)) | Err(_) => {}
    }
}

/// The provider configs this operator watches: all, or those its
/// `--provider-config-selector` matches.
fn provider_configs_watched(ctx: &Context) -> watcher::Config {
    match &ctx.settings.provider_config_selector {
        Some(selector) => watcher::Config::default().labels(selector),
        None => watcher::Config::default(),
    }
}

/// "namespace x", or "all namespaces", for messages.
fn where_(namespace: Option<&str>) -> String {
    namespace.map_or_else(|| "all namespaces".to_owned(), |ns| format!("namespace {ns}"))
}

fn namespaced_api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// What every managed controller is built from.
struct Shared<'a> {
    client: &'a Client,
    /// Whether the initial lists come as watch events.
    streamed: bool,
    configs: &'a Store<ZpaProviderConfig>,
    readiness: &'a Readiness,
    options: &'a RunOptions,
}

/// Copies of the watches the provider config controller runs.
struct Triggers {
    configs: BoxStream<'static, Result<ZpaProviderConfig, watcher::Error>>,
    secrets: BoxStream<'static, Result<PartialObjectMeta<Secret>, watcher::Error>>,
}

/// A controller for one managed kind, triggered by its own watch (teed to
/// `tee`'s subscribers) and by what every kind needs: its provider config,
/// and the Secrets it (or its provider config) reads.
fn managed_controller<K: ControllerKind>(
    shared: &Shared<'_>,
    namespace: Option<&str>,
    triggers: Triggers,
    tee: Tee<K>,
    ctx: &Arc<Context>,
) -> Controller<Cached<K>> {
    let Shared { client, streamed: initial_lists_streamed, configs, readiness, options } = *shared;
    let (reader, writer) = reflector::store::<Cached<K>>();
    let what = format!("{}s in {}", K::kind(&()), where_(namespace));
    let config = if initial_lists_streamed {
        watcher::Config::default().any_semantic().streaming_lists()
    } else {
        watcher::Config::default().any_semantic()
    };
    let stream = watch(namespaced_api::<K>(client, namespace), config, what)
        .modify(cached::trim)
        .inspect(tee.tap())
        .inspect(ready_after_initial_list(readiness))
        .map_ok(cached::cached_event)
        .reflect(writer)
        .inspect(forget_statuses_seen(ctx))
        .applied_objects()
        .predicate_filter(|object: &Cached<K>| Some(object.change()), PredicateConfig::default());
    let controller = Controller::for_stream(stream, reader)
        .with_config(ControllerConfig::default().concurrency(options.concurrency))
        .shutdown_on_signal();

    let store = controller.store();
    let by_config =
        controller.watches_stream(triggers.configs, move |config| objects_using_config(&store, &config.name_any()));

    let store = by_config.store();
    let configs = configs.clone();
    let ctx = ctx.clone();
    by_config.watches_stream(triggers.secrets, move |secret| {
        let (namespace, name) = (secret.namespace().unwrap_or_default(), secret.name_any());
        let mut affected = Vec::new();
        for config in configs.state() {
            let reference = &config.spec.credentials_secret_ref;
            if reference.namespace == namespace && reference.name == name {
                ctx.tenants.invalidate(&config.name_any());
                affected.extend(objects_using_config(&store, &config.name_any()));
            }
        }
        affected.extend(
            store.state().iter().filter(|o| o.reads_secret(&namespace, &name)).map(|o| ObjectRef::from_obj(o.as_ref())),
        );
        affected
    })
}

fn run_managed<K: ControllerKind>(controller: Controller<Cached<K>>, ctx: Arc<Context>) -> BoxFuture<'static, ()> {
    let store = controller.store();
    let run = controller
        .run(managed::reconcile::<K>, managed::error_policy::<K>, ctx)
        .for_each(|result| async move { log_outcome(<K::Kind as crate::reconcile::ReconcileKind>::KIND, result) })
        .boxed();
    stop_unready_at_shutdown(run, store)
}

/// kube's Controller holds its reconciles until its store has seen a whole
/// list, and a shutdown signal cuts its watch: signalled before that list
/// ended, the store never gets there and the controller never finishes.
/// It has reconciled nothing, so nothing is in flight: at the signal such a
/// controller is dropped, and the others drain their reconciles as usual.
fn stop_unready_at_shutdown<K>(run: BoxFuture<'static, ()>, store: Store<K>) -> BoxFuture<'static, ()>
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    async move {
        let unready_at_signal = async {
            shutdown_signal().await;
            if store.wait_until_ready().now_or_never().is_none() {
                tracing::debug!("shutdown before the first full list; nothing to drain");
                return;
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            () = run => {}
            () = unready_at_signal => {}
        }
    }
    .boxed()
}

/// SIGTERM or SIGINT, as kube's `shutdown_on_signal` listens for them.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

type ControllerError = kube::runtime::controller::Error<ReconcileError, watcher::Error>;

/// Logs a reconcile's outcome at the level its error deserves: WARN only
/// for what needs a person, ERROR for an operator bug; a dependency wait,
/// an optimistic-lock retry or a transient failure retried with backoff
/// is routine (the conditions and events still say it).
fn log_outcome<T: std::fmt::Debug>(kind: &str, result: Result<T, ControllerError>) {
    use kube::runtime::controller::Error;
    let (error, object) = match result {
        Ok(object) => return tracing::debug!(kind, ?object, "reconciled"),
        Err(Error::ReconcilerFailed(error, object)) => (error, object),
        // Deleted while queued: nothing to do.
        Err(Error::ObjectNotFound(object)) => return tracing::debug!(kind, %object, "reconciled object is gone"),
        Err(error) => return tracing::warn!(kind, %error, "controller error"),
    };
    let object = match &object.namespace {
        Some(namespace) => format!("{namespace}/{}", object.name),
        None => object.name.clone(),
    };
    let reason = error.reason().as_str();
    match log_level(&error) {
        tracing::Level::DEBUG => tracing::debug!(kind, object, reason, %error, "reconcile retried"),
        tracing::Level::INFO => tracing::info!(kind, object, reason, %error, "reconcile waits or retries"),
        tracing::Level::ERROR => tracing::error!(kind, object, reason, %error, "operator bug; please report it"),
        _ => tracing::warn!(kind, object, reason, %error, "reconcile failed; needs attention"),
    }
}

/// The level a reconcile error is logged at.
pub fn log_level(error: &ReconcileError) -> tracing::Level {
    match error {
        // Waiting for a referenced Microtenant's id: it proceeds by itself.
        ReconcileError::ReferenceNotReady { .. } => tracing::Level::INFO,
        // Someone else wrote the object first (the finalizer's JSON patch
        // `test`, a resourceVersion precondition): retried at once.
        ReconcileError::Kubernetes { source: kube::Error::Api(status), .. }
            if status.is_conflict() || status.code == 422 =>
        {
            tracing::Level::DEBUG
        }
        _ if error.owner() == Owner::Operator => tracing::Level::ERROR,
        _ if error.is_retryable() => tracing::Level::INFO,
        _ => tracing::Level::WARN,
    }
}

fn objects_using_config<K: ControllerKind>(store: &Store<Cached<K>>, config: &str) -> Vec<ObjectRef<Cached<K>>> {
    store.state().iter().filter(|o| o.provider_config() == config).map(|o| ObjectRef::from_obj(o.as_ref())).collect()
}

fn profiles_scoped_to(
    store: &Store<Cached<IsolationProfile>>,
    microtenant: &Microtenant,
) -> Vec<ObjectRef<Cached<IsolationProfile>>> {
    let (namespace, name) = (microtenant.namespace(), microtenant.name_any());
    store
        .state()
        .iter()
        .filter(|p| p.namespace() == namespace && p.scoped_to() == Some(name.as_str()))
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;
    use crate::zpa::ZpaError;

    fn api_error(code: u16, reason: &str) -> ReconcileError {
        let status = kube::core::Status::failure("the object has been modified", reason).with_code(code);
        ReconcileError::Kubernetes { operation: "patch finalizers", source: kube::Error::Api(status.boxed()) }
    }

    #[test]
    fn only_what_needs_a_person_is_a_warning() {
        let cases = [
            (ReconcileError::ReferenceNotReady { what: "Microtenant a/b".into() }, Level::INFO),
            (api_error(409, "Conflict"), Level::DEBUG),
            (api_error(422, "Invalid"), Level::DEBUG),
            (api_error(500, "InternalError"), Level::INFO),
            (ReconcileError::Zpa(ZpaError::Transient { detail: "503".into() }), Level::INFO),
            (
                ReconcileError::Zpa(ZpaError::RateLimited { retry_after: std::time::Duration::from_secs(13) }),
                Level::INFO,
            ),
            (ReconcileError::InvalidSpec { message: "x".into() }, Level::WARN),
            (ReconcileError::ReferenceNotFound { what: "Secret a/b".into() }, Level::WARN),
            (ReconcileError::AlreadyExists { name: "n".into(), id: None }, Level::WARN),
            (ReconcileError::Zpa(ZpaError::Unauthorized { reason: "no".into() }), Level::WARN),
            (ReconcileError::Internal { message: "bug".into() }, Level::ERROR),
        ];
        for (error, level) in cases {
            assert_eq!(log_level(&error), level, "{error}");
        }
    }
}
