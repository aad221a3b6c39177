//! An operator under test: the Kubernetes API stand-in and the ZPA simulator
//! in-process (both over real HTTP), the CRDs installed, a provider config
//! pointing at the simulator, and the real controllers running.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
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

use super::{client as zpa_client, eventually, simulator};

pub const NAMESPACE: &str = "default";

pub struct Cluster {
    pub standin: kube_standin::RunningStandIn,
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
        Self::start_with(resync, Vec::new()).await
    }

    /// The operator watching only `namespaces` (empty: all).
    pub async fn start_with(resync: Duration, watch_namespaces: Vec<String>) -> Self {
        Self::start_with_simulator(resync, watch_namespaces, simulator()).await
    }

    /// With a simulator the test configured (e.g. short-lived tokens).
    pub async fn start_with_simulator(
        resync: Duration,
        watch_namespaces: Vec<String>,
        simulator: impl std::future::Future<Output = RunningSimulator>,
    ) -> Self {
        let standin = kube_standin::start(kube_standin::StandInConfig::default()).await.expect("stand-in starts");
        let kube = standin.kube_client();
        let crds: Api<CustomResourceDefinition> = Api::all(kube.clone());
        for definition in crd::all() {
            crds.create(&PostParams::default(), &definition).await.expect("CRD accepted");
        }
        let sim = simulator.await;
        let zpa = zpa_client(&sim);
        let mut cluster = Self {
            standin,
            sim,
            kube,
            zpa,
            metrics: Arc::new(Metrics::new()),
            operator: None,
            resync,
            watch_namespaces,
        };
        cluster.create_provider_config("default", "zpa-credentials", true).await;
        cluster.start_operator();
        cluster
    }

    /// (Re)starts the controllers, as a restarted operator process would.
    pub fn start_operator(&mut self) {
        self.stop_operator();
        let tenants = TenantRegistry::new(TenantDefaults {
            rate_limits: None,
            observe_max_age: self.resync,
            observer: self.metrics.clone(),
        });
        let settings = Settings { resync_interval: self.resync, field_manager: FIELD_MANAGER.to_owned(), provider_config_selector: None };
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
        let api = self.api::<crd::Microtenant>(Some("default"));
        let annotations = json!({"metadata": {"annotations": {
            crd::annotations::EXTERNAL_ID: null, crd::annotations::CREATE_PENDING: marker}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&annotations)).await.expect("marker set");
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": {"id": null}})))
            .await
            .expect("status id cleared");
    }

    pub async fn create_namespace(&self, name: &str) {
        let namespaces: Api<Namespace> = Api::all(self.kube.clone());
        let namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        let _ = namespaces.create(&PostParams::default(), &namespace).await;
    }

    /// A provider config for the simulator; `with_secret: false` leaves its Secret missing.
    pub async fn create_provider_config(&self, name: &str, secret: &str, with_secret: bool) {
        let namespaces: Api<Namespace> = Api::all(self.kube.clone());
        let _ = namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "zpa-system"}})).unwrap(),
            )
            .await;
        if with_secret {
            self.create_credentials_secret(secret).await;
        }
        self.apply(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
            "metadata": {"name": name},
            "spec": {"baseUrl": self.sim.base_url(), "customerId": self.sim.customer_id(), "auth": "legacy",
                     "credentialsSecretRef": {"namespace": "zpa-system", "name": secret}}
        }))
        .await;
    }

    pub async fn create_credentials_secret(&self, name: &str) {
        let secrets: Api<Secret> = Api::namespaced(self.kube.clone(), "zpa-system");
        let secret = json!({"metadata": {"name": name}, "stringData": {"clientId": self.sim.client_id(), "clientSecret": self.sim.client_secret().expose()}});
        secrets.create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.expect("secret created");
    }

    /// Applies a manifest as a user would (server-side apply, another field manager).
    pub async fn apply(&self, manifest: Value) {
        let kind = manifest["kind"].as_str().unwrap().to_owned();
        let name = manifest["metadata"]["name"].as_str().unwrap().to_owned();
        let namespace = manifest["metadata"]["namespace"].as_str().map(str::to_owned);
        let params = PatchParams::apply("test-user").force();
        let result = match kind.as_str() {
            "ZpaProviderConfig" => Api::<crd::ZpaProviderConfig>::all(self.kube.clone())
                .patch(&name, &params, &Patch::Apply(&manifest))
                .await
                .map(|_| ()),
            "Microtenant" => self
                .api::<crd::Microtenant>(namespace.as_deref())
                .patch(&name, &params, &Patch::Apply(&manifest))
                .await
                .map(|_| ()),
            "IsolationProfile" => self
                .api::<crd::IsolationProfile>(namespace.as_deref())
                .patch(&name, &params, &Patch::Apply(&manifest))
                .await
                .map(|_| ()),
            other => panic!("unsupported kind {other}"),
        };
        result.unwrap_or_else(|e| panic!("apply {kind} {name}: {e}"));
    }

    pub fn api<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.kube.clone(), namespace.unwrap_or(NAMESPACE))
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
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(object) = self.get::<K>(name).await {
                let value = serde_json::to_value(&object).unwrap_or_default();
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
        eventually(&format!("{name} to be deleted"), Duration::from_secs(20), || async {
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
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
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
        let mt = self.get::<crd::Microtenant>(name).await.map(|o| serde_json::to_value(o).unwrap_or_default());
        let isop = self.get::<crd::IsolationProfile>(name).await.map(|o| serde_json::to_value(o).unwrap_or_default());
        mt.or(isop).unwrap_or(Value::Null)
    }

    /// Every event's reason and note for an object.
    pub async fn events_for(&self, name: &str) -> Vec<(String, String)> {
        let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(self.kube.clone());
        let list = events.list(&Default::default()).await.expect("events list");
        list.items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
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
        .flat_map(|list| list.as_array().cloned().unwrap_or_default())
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
