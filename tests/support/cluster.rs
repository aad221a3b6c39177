//! An operator under test, in-process: the real controllers against the real
//! kube-apiserver of this test binary's control plane and an in-process ZPA
//! simulator (both over real HTTP).
//!
//! Each `Cluster` is one test's world inside the shared control plane: a
//! namespace for its custom resources, one for its credentials (as
//! `zpa-system` would be), and a ZpaProviderConfig of its own that only this
//! test's operator selects (`provider_config_selector`), so tests of one
//! binary may run side by side without seeing each other's objects.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use zpa_operator::controller::server::Readiness;
use zpa_operator::controller::{Context, FIELD_MANAGER, RunOptions, Settings, run_controllers};
use zpa_operator::crd::{self, Condition};
use zpa_operator::metrics::Metrics;
use zpa_operator::remote::{TenantDefaults, TenantRegistry};
use zpa_operator::simulator::RunningSimulator;

use super::controlplane::{ControlPlane, unique_name};
use super::{client as zpa_client, eventually, simulator};

/// The label that ties a test's provider configs to its operator.
pub const TEST_LABEL: &str = "zpa.operator.dev/test";

pub struct Cluster {
    pub plane: &'static ControlPlane,
    /// Where this test's custom resources live (the default of [`Cluster::apply`]).
    pub namespace: String,
    /// Where the provider config's credentials Secret lives.
    pub system_namespace: String,
    /// This test's ZpaProviderConfig, the one managed objects reference.
    pub provider_config: String,
    pub sim: RunningSimulator,
    pub kube: Client,
    pub zpa: zpa_operator::zpa::ZpaClient,
    pub metrics: Arc<Metrics>,
    operator: Option<JoinHandle<()>>,
    resync: Duration,
    watch_namespaces: Vec<String>,
}

impl Cluster {
    /// Everything up, the operator running with a short resync.
    pub async fn start() -> Self {
        Self::start_with_resync(Duration::from_secs(3)).await
    }

    pub async fn start_with_resync(resync: Duration) -> Self {
        Self::start_with_simulator(resync, simulator()).await
    }

    /// With a simulator the test configured (e.g. short-lived tokens).
    pub async fn start_with_simulator(
        resync: Duration,
        simulator: impl std::future::Future<Output = RunningSimulator>,
    ) -> Self {
        let mut cluster = Self::without_operator(resync, simulator).await;
        cluster.start_operator();
        cluster
    }

    /// The world without the operator: the test decides what it watches
    /// ([`Cluster::watch_only`]) and when it starts.
    pub async fn without_operator(
        resync: Duration,
        simulator: impl std::future::Future<Output = RunningSimulator>,
    ) -> Self {
        let plane = ControlPlane::shared();
        let kube = plane.admin_client().await;
        let namespace = unique_name("t");
        let system_namespace = format!("{namespace}-system");
        let sim = simulator.await;
        let zpa = zpa_client(&sim);
        let cluster = Self {
            plane,
            provider_config: namespace.clone(),
            watch_namespaces: vec![namespace.clone(), system_namespace.clone()],
            namespace,
            system_namespace,
            sim,
            kube,
            zpa,
            metrics: Arc::new(Metrics::new()),
            operator: None,
            resync,
        };
        cluster.create_namespace_named(&cluster.namespace).await;
        cluster.create_namespace_named(&cluster.system_namespace).await;
        cluster.create_provider_config(&cluster.provider_config, "zpa-credentials", true).await;
        cluster
    }

    /// The namespaces the next [`Cluster::start_operator`] watches.
    pub fn watch_only(&mut self, namespaces: Vec<String>) {
        self.watch_namespaces = namespaces;
    }

    /// (Re)starts the controllers, as a restarted operator process would.
    pub fn start_operator(&mut self) {
        self.stop_operator();
        let tenants = TenantRegistry::new(TenantDefaults {
            rate_limits: None,
            observe_max_age: self.resync,
            observer: self.metrics.clone(),
        });
        let settings = Settings {
            resync_interval: self.resync,
            field_manager: FIELD_MANAGER.to_owned(),
            provider_config_selector: Some(format!("{TEST_LABEL}={}", self.namespace)),
        };
        let ctx = Arc::new(Context::new(self.kube.clone(), tenants, self.metrics.clone(), settings));
        let options = RunOptions { watch_namespaces: self.watch_namespaces.clone(), concurrency: 4 };
        self.operator = Some(tokio::spawn(run_controllers(self.kube.clone(), ctx, options, Readiness::default())));
    }

    pub fn stop_operator(&mut self) {
        if let Some(handle) = self.operator.take() {
            handle.abort();
        }
    }

    /// Stops the controllers and waits until they have stopped: nothing
    /// they had in flight writes after this returns.
    pub async fn stop_operator_and_wait(&mut self) {
        if let Some(handle) = self.operator.take() {
            handle.abort();
            let _ = handle.await;
        }
    }

    /// Puts a Microtenant into the state a crash right after its POST
    /// leaves: the create-pending marker for `remote_name`, and no id.
    pub async fn set_crashed_after_post(&self, name: &str, remote_name: &str) {
        let marker = json!({"at": jiff::Timestamp::now().to_string(), "name": remote_name}).to_string();
        let api = self.api::<crd::Microtenant>(None);
        let annotations = json!({"metadata": {"annotations": {
            crd::annotations::EXTERNAL_ID: null, crd::annotations::CREATE_PENDING: marker}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&annotations)).await.expect("marker set");
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": {"id": null}})))
            .await
            .expect("status id cleared");
    }

    /// A namespace of this test's own, named after `prefix`; returns its name.
    pub async fn create_namespace(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.create_namespace_named(&name).await;
        name
    }

    async fn create_namespace_named(&self, name: &str) {
        let namespaces: Api<Namespace> = Api::all(self.kube.clone());
        let namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("a Namespace");
        namespaces.create(&PostParams::default(), &namespace).await.expect("namespace created");
    }

    /// A provider config `name` for the simulator, selected by this test's
    /// operator; `with_secret: false` leaves its Secret missing.
    pub async fn create_provider_config(&self, name: &str, secret: &str, with_secret: bool) {
        if with_secret {
            self.create_credentials_secret(secret).await;
        }
        let spec = json!({"baseUrl": self.sim.base_url(), "customerId": self.sim.customer_id(), "auth": "legacy",
                          "credentialsSecretRef": {"namespace": self.system_namespace, "name": secret}});
        self.apply_provider_config(name, spec).await;
    }

    /// A provider config with this `spec`, labelled for this test's operator.
    pub async fn apply_provider_config(&self, name: &str, spec: Value) {
        self.apply(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
            "metadata": {"name": name, "labels": {TEST_LABEL: self.namespace}},
            "spec": spec,
        }))
        .await;
    }

    pub async fn create_credentials_secret(&self, name: &str) {
        let secrets: Api<Secret> = Api::namespaced(self.kube.clone(), &self.system_namespace);
        let secret = json!({"metadata": {"name": name}, "stringData": {"clientId": self.sim.client_id(), "clientSecret": self.sim.client_secret().expose()}});
        secrets
            .create(&PostParams::default(), &serde_json::from_value(secret).expect("a Secret"))
            .await
            .expect("secret created");
    }

    /// Applies a manifest as a user would (server-side apply, another field
    /// manager). Managed objects land in this test's namespace unless they
    /// name one, and use this test's provider config unless they name one.
    pub async fn apply(&self, mut manifest: Value) {
        let kind = manifest["kind"].as_str().expect("a kind").to_owned();
        let name = manifest["metadata"]["name"].as_str().expect("a name").to_owned();
        let resource = match kind.as_str() {
            "ZpaProviderConfig" => ApiResource::erase::<crd::ZpaProviderConfig>(&()),
            "Microtenant" => ApiResource::erase::<crd::Microtenant>(&()),
            "IsolationProfile" => ApiResource::erase::<crd::IsolationProfile>(&()),
            other => panic!("unsupported kind {other}"),
        };
        let api: Api<DynamicObject> = if kind == "ZpaProviderConfig" {
            Api::all_with(self.kube.clone(), &resource)
        } else {
            if manifest["metadata"]["namespace"].is_null() {
                manifest["metadata"]["namespace"] = json!(self.namespace);
            }
            if manifest["spec"]["providerConfigRef"].is_null() {
                manifest["spec"]["providerConfigRef"] = json!({"name": self.provider_config});
            }
            let namespace = manifest["metadata"]["namespace"].as_str().expect("a namespace").to_owned();
            Api::namespaced_with(self.kube.clone(), &namespace, &resource)
        };
        let params = PatchParams::apply("test-user").force();
        api.patch(&name, &params, &Patch::Apply(&manifest))
            .await
            .unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
    }

    /// The API of a namespaced kind, in this test's namespace unless told otherwise.
    pub fn api<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.kube.clone(), namespace.unwrap_or(&self.namespace))
    }

    pub async fn get<K>(&self, name: &str) -> Option<K>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>(None).get_opt(name).await.expect("get works")
    }

    /// Waits until `check` holds for the object (read as JSON).
    pub async fn wait_for<K>(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let mut last = Value::Null;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(object) = self.get::<K>(name).await {
                let value = serde_json::to_value(&object).expect("objects serialize");
                if check(&value) {
                    return value;
                }
                last = value;
            }
            if tokio::time::Instant::now() >= deadline {
                let events = self.events_for(name).await;
                panic!("timed out waiting for {name}: {what}; last seen: {last:#}; events: {events:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ready=True and Synced=True for the current generation.
    pub async fn wait_ready<K>(&self, name: &str) -> Value
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        self.wait_for::<K>(name, "Ready and Synced", |o| {
            condition(o, "Ready").is_some_and(|c| c.status == "True")
                && condition(o, "Synced").is_some_and(|c| c.status == "True")
                && o["status"]["observedGeneration"] == o["metadata"]["generation"]
        })
        .await
    }

    pub async fn wait_gone<K>(&self, name: &str)
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        eventually(&format!("{name} to be deleted"), Duration::from_secs(30), || async {
            self.get::<K>(name).await.is_none().then_some(())
        })
        .await;
    }

    /// The simulator's view of the tenant (every scope).
    pub async fn remote_state(&self) -> Value {
        let url = format!("{}/__sim/customers/{}/state", self.sim.base_url(), self.sim.customer_id());
        reqwest_get(&url).await
    }

    /// Changes a remote object behind the operator's back.
    pub async fn drift(&self, kind: &str, id: &str, patch: Value) {
        let url = format!("{}/__sim/customers/{}/{kind}/{id}", self.sim.base_url(), self.sim.customer_id());
        let response = http().patch(url).json(&patch).send().await.expect("admin patch");
        assert!(response.status().is_success(), "drift patch: {}", response.status());
    }

    /// Waits for an event with `reason` whose note contains `fragment`.
    pub async fn wait_event(&self, name: &str, reason: &str, fragment: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.events_for(name).await;
            if events.iter().any(|(r, note)| r == reason && note.contains(fragment)) {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let object = self.get_json(name).await;
                panic!("timed out waiting for a {reason} event for {name}; events: {events:?}; object: {object:#}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Any namespaced managed object by name, as JSON (for diagnostics).
    async fn get_json(&self, name: &str) -> Value {
        let mt = self.get::<crd::Microtenant>(name).await.map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
        let isop =
            self.get::<crd::IsolationProfile>(name).await.map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
        mt.or(isop).unwrap_or(Value::Null)
    }

    /// Every event's reason and note for an object of this test (any of its
    /// namespaces, or cluster-scoped).
    pub async fn events_for(&self, name: &str) -> Vec<(String, String)> {
        let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(self.kube.clone());
        let list = events.list(&Default::default()).await.expect("events list");
        list.items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().is_some_and(|r| {
                    r.name.as_deref() == Some(name) && r.namespace.as_deref().is_none_or(|ns| self.owns_namespace(ns))
                })
            })
            .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }
}

impl Cluster {
    fn owns_namespace(&self, namespace: &str) -> bool {
        namespace == self.namespace
            || namespace == self.system_namespace
            || self.watch_namespaces.iter().any(|w| w == namespace)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_operator();
    }
}

pub fn condition(object: &Value, type_: &str) -> Option<Condition> {
    let conditions: Vec<Condition> = serde_json::from_value(object["status"]["conditions"].clone()).ok()?;
    conditions.into_iter().find(|c| c.type_ == type_)
}

pub fn remote_microtenants_named(state: &Value, name: &str) -> Vec<Value> {
    state["microtenants"].as_array().into_iter().flatten().filter(|m| m["name"] == name).cloned().collect()
}

/// Profiles of every scope with that name.
pub fn remote_profiles_named(state: &Value, name: &str) -> Vec<Value> {
    state["profiles"]
        .as_object()
        .into_iter()
        .flat_map(|scopes| scopes.values())
        .flat_map(|list| list.as_array().into_iter().flatten().cloned())
        .filter(|p| p["name"] == name)
        .collect()
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn reqwest_get(url: &str) -> Value {
    http().get(url).send().await.expect("admin get").json().await.expect("admin json")
}

pub fn name_of(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_owned()
}

pub fn resource_name<K: Resource>(object: &K) -> String {
    object.name_any()
}
