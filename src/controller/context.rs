//! What every reconcile shares.

use std::sync::Arc;
use std::time::Duration;

use kube::api::Api;
use kube::core::NamespaceResourceScope;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};

use super::backoff::Backoffs;
use super::written::Written;
use crate::metrics::Metrics;
use crate::remote::TenantRegistry;

/// Operator settings from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often each object is compared with ZPA when nothing changed.
    pub resync_interval: Duration,
    /// The server-side apply field manager of status and Secret writes.
    pub field_manager: String,
    /// A label selector: only the ZpaProviderConfigs it matches are this
    /// operator's (several operators in one cluster, one per team).
    pub provider_config_selector: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            resync_interval: Duration::from_secs(30 * 60),
            field_manager: FIELD_MANAGER.to_owned(),
            provider_config_selector: None,
        }
    }
}

/// The field manager name users can match in Argo CD's `managedFieldsManagers`.
pub const FIELD_MANAGER: &str = "zpa-operator";

pub struct Context {
    pub client: Client,
    pub tenants: TenantRegistry,
    reporter: Reporter,
    /// Aggregates repeated warnings into event series; it keeps each event
    /// it published for minutes, so Normal events bypass it (see `publish`).
    warnings: Recorder,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    pub backoffs: Backoffs,
    /// Our writes the watches have not shown yet.
    pub written: Written,
}

impl Context {
    pub fn new(client: Client, tenants: TenantRegistry, metrics: Arc<Metrics>, settings: Settings) -> Self {
        let reporter = Reporter { controller: FIELD_MANAGER.into(), instance: std::env::var("POD_NAME").ok() };
        let warnings = Recorder::new(client.clone(), reporter.clone());
        Self {
            client,
            tenants,
            reporter,
            warnings,
            metrics,
            settings,
            backoffs: Backoffs::default(),
            written: Written::default(),
        }
    }

    /// The API of `object`'s kind in its namespace.
    pub fn api_for<K>(&self, object: &K) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), &object.namespace().unwrap_or_default())
    }

    /// Publishes an Event about `object`. Failing to publish is logged, never fatal.
    ///
    /// Warnings repeat (a bad reference is reported at every retry), so they
    /// go through the recorder that turns repeats into a series. Normal events
    /// (Created, Updated, Deleted, ...) happen once per change, and kube's
    /// recorder keeps each for its six-minute series window, a real share of
    /// the footprint during a converge (BENCHMARKS.md, "Earlier rounds", has the
    /// measurement and the command): they go through a recorder that keeps nothing.
    pub async fn publish<K>(&self, object: &K, type_: EventType, reason: &str, action: &str, note: String)
    where
        K: Resource<DynamicType = ()>,
    {
        let event = Event { type_, reason: reason.into(), note: Some(note), action: action.into(), secondary: None };
        let published = match type_ {
            EventType::Warning => self.warnings.publish(&event, &object.object_ref(&())).await,
            EventType::Normal => {
                let once = Recorder::new(self.client.clone(), self.reporter.clone());
                once.publish(&event, &object.object_ref(&())).await
            }
        };
        if let Err(error) = published {
            tracing::warn!(%error, reason, "could not publish event");
        }
    }
}
