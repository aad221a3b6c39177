//! The performance benchmark: the real operator binary against the ZPA
//! simulator and the Kubernetes API stand-in, each its own process.
//!
//! ```sh
//! cargo build --release --workspace --bins          # zpa-operator and kube-standin
//! cargo run --release --example converge -- --objects 1000
//! cargo run --release --example converge -- --scaling   # N = 100, 1000, 5000
//! ```
//!
//! One run of N objects measures, in order:
//! 1. converge: N new CRs (Microtenants: half, at most ZPA's 500; the rest
//!    IsolationProfiles, some scoped to Microtenants) applied as fast as the
//!    API takes them, timed until every one is Ready and Synced for its
//!    generation; divided by the floor `POSTs / write rate`;
//! 2. steady state: ZPA requests during one resync interval with all N in sync;
//! 3. footprint: the operator's peak RSS with N objects in its caches, the
//!    release binary's size, and the start-up time of a restarted operator to
//!    `/readyz` with the N objects present;
//! 4. reaction: rate limits off, one object's spec edited sequentially, each
//!    timed from the PATCH to Ready/Synced with the new value in `atProvider`.
//!
//! It prints a table and one JSON line (`--json-only`: the JSON line alone).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use zpa_operator::crd::{self, IsolationProfile, Microtenant, ZpaProviderConfig};

const NAMESPACE: &str = "default";
const CUSTOMER_ID: &str = "72057594037927936";
const MAX_MICROTENANTS: usize = 500;

#[derive(Debug, Clone, Parser)]
#[command(about = "Converge, steady-state, reaction and footprint benchmark of zpa-operator")]
struct Args {
    /// Objects to converge (Microtenants: half, at most 500; the rest IsolationProfiles).
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// Simulator and operator write limit per window (default: 10x ZPA's, 100x for 5,000+ objects).
    #[arg(long)]
    write_limit: Option<u32>,
    /// Simulator and operator GET limit per window (default: 10x ZPA's, 100x for 5,000+ objects).
    #[arg(long)]
    get_limit: Option<u32>,
    /// Rate-limit window, seconds.
    #[arg(long, default_value_t = 10)]
    window_secs: u64,
    /// Sequential spec edits timed for the reaction figures (0 skips).
    #[arg(long, default_value_t = 100)]
    reaction_edits: usize,
    /// The operator's --resync-interval for the run, seconds (the steady-state window).
    #[arg(long, default_value_t = 20)]
    resync_secs: u64,
    /// The operator's --concurrency (reconciles at once per controller; default: the operator's own).
    #[arg(long)]
    concurrency: Option<u16>,
    /// Microtenants that get scoped IsolationProfiles.
    #[arg(long, default_value_t = 5)]
    scoped_microtenants: usize,
    /// IsolationProfiles scoped to each of those Microtenants.
    #[arg(long, default_value_t = 20)]
    profiles_per_microtenant: usize,
    /// Run N = 100, 1,000 and 5,000 one after the other.
    #[arg(long)]
    scaling: bool,
    /// Print only the JSON line(s).
    #[arg(long)]
    json_only: bool,
    /// Where zpa-operator and kube-standin are (default: next to this example's binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Extra environment for the operator process (KEY=VALUE, repeatable).
    #[arg(long = "operator-env")]
    operator_env: Vec<String>,
    /// Keep the processes' logs (in the temp directory printed at the start).
    #[arg(long)]
    keep_logs: bool,
    /// After the steady window, print how the status of objects that were
    /// written in one more window changed (diagnostics).
    #[arg(long)]
    explain_status_writes: bool,
    /// Give up when converging takes longer than this many floors.
    #[arg(long, default_value_t = 5.0)]
    timeout_floors: f64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("converge: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let bins = Binaries::locate(args.bin_dir.as_deref())?;
    let sizes: Vec<usize> = if args.scaling { vec![100, 1000, 5000] } else { vec![args.objects] };
    let mut results = Vec::new();
    for objects in sizes {
        let (write_limit, get_limit) = limits_for(&args, objects);
        let plan = Plan::new(objects, args.scoped_microtenants, args.profiles_per_microtenant);
        let settings = RunSettings { write_limit, get_limit, ..RunSettings::from(&args) };
        if !args.json_only {
            eprintln!(
                "== N = {objects}: {} Microtenants, {} IsolationProfiles ({} scoped); limits {get_limit} GET / {write_limit} writes per {} s",
                plan.microtenants,
                plan.profiles,
                plan.scoped_profiles(),
                args.window_secs
            );
        }
        let result = run_one(&bins, &plan, &settings, args.json_only).await?;
        if !args.json_only {
            print_table(&result);
        }
        println!("{}", result.json());
        results.push(result);
    }
    if results.len() > 1 && !args.json_only {
        print_scaling(&results);
    }
    Ok(())
}

/// 10x ZPA's limits, 100x from 5,000 objects (so the run stays short), unless given.
fn limits_for(args: &Args, objects: usize) -> (u32, u32) {
    let factor = if objects >= 5000 { 100 } else { 10 };
    (args.write_limit.unwrap_or(10 * factor), args.get_limit.unwrap_or(20 * factor))
}

#[derive(Debug, Clone)]
struct RunSettings {
    write_limit: u32,
    get_limit: u32,
    window_secs: u64,
    resync_secs: u64,
    concurrency: Option<u16>,
    reaction_edits: usize,
    timeout_floors: f64,
    operator_env: Vec<(String, String)>,
    keep_logs: bool,
    explain_status_writes: bool,
}

impl From<&Args> for RunSettings {
    fn from(args: &Args) -> Self {
        Self {
            write_limit: 0,
            get_limit: 0,
            window_secs: args.window_secs,
            resync_secs: args.resync_secs,
            concurrency: args.concurrency,
            reaction_edits: args.reaction_edits,
            timeout_floors: args.timeout_floors,
            operator_env: args
                .operator_env
                .iter()
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
                .collect(),
            keep_logs: args.keep_logs,
            explain_status_writes: args.explain_status_writes,
        }
    }
}

// ---------------------------------------------------------------- processes

struct Binaries {
    operator: PathBuf,
    standin: PathBuf,
}

impl Binaries {
    fn locate(dir: Option<&Path>) -> Result<Self, String> {
        let dir = match dir {
            Some(dir) => dir.to_path_buf(),
            // target/release/examples/converge -> target/release
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find this binary: {e}"))?
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .ok_or("cannot find the target directory")?,
        };
        let bins = Self { operator: dir.join("zpa-operator"), standin: dir.join("kube-standin") };
        for bin in [&bins.operator, &bins.standin] {
            if !bin.is_file() {
                return Err(format!(
                    "{} is missing: build it first with `cargo build --release --workspace --bins`",
                    bin.display()
                ));
            }
        }
        Ok(bins)
    }
}

/// A child process, killed when dropped.
struct Proc {
    child: Child,
    name: &'static str,
}

impl Proc {
    /// Spawns and waits for the first stdout line that contains `marker`; returns the URL in it.
    async fn spawn(
        name: &'static str,
        mut command: Command,
        marker: &str,
        log: &Path,
    ) -> Result<(Self, Option<String>), String> {
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        command.stdout(Stdio::piped()).stderr(Stdio::from(log_file)).kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let wait = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains(marker) {
                    return Some(line);
                }
            }
            None
        };
        let line = tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .map_err(|_| format!("{name} did not start in 30 s (log: {})", log.display()))?
            .ok_or_else(|| format!("{name} exited before it was ready (log: {})", log.display()))?;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_owned);
        Ok((Self { child, name }, url))
    }

    /// Starts a process whose readiness is checked otherwise.
    fn spawn_plain(name: &'static str, mut command: Command, log: &Path) -> Result<Self, String> {
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        command.stdout(Stdio::null()).stderr(Stdio::from(log_file)).kill_on_drop(true);
        let child = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Self { child, name })
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `VmHWM` and `VmRSS` of the process, in KiB.
    fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let field = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        };
        Some((field("VmHWM:")?, field("VmRSS:")?))
    }

    /// CPU time (user + system) used so far, in seconds.
    fn cpu_secs(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?)).ok()?;
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = self.name;
    }
}

fn free_port() -> Result<u16, String> {
    let listener = StdListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

struct Operator {
    proc: Proc,
    metrics_url: String,
}

struct Env<'a> {
    bins: &'a Binaries,
    dir: PathBuf,
    sim_url: String,
    kubeconfig: PathBuf,
    http: reqwest::Client,
}

impl Env<'_> {
    /// Starts the operator; returns it and the time until `/readyz` answered 200.
    async fn start_operator(
        &self,
        settings: &RunSettings,
        rate_limited: bool,
        log: &str,
    ) -> Result<(Operator, Duration), String> {
        let port = free_port()?;
        let mut command = Command::new(&self.bins.operator);
        command
            .arg("run")
            .arg("--metrics-listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--resync-interval")
            .arg(format!("{}s", settings.resync_secs))
            .env("KUBECONFIG", &self.kubeconfig)
            .env("ZPA_OPERATOR_LOG_LEVEL", "warn");
        command.envs(settings.operator_env.iter().map(|(k, v)| (k, v)));
        if let Some(concurrency) = settings.concurrency {
            command.arg("--concurrency").arg(concurrency.to_string());
        }
        if rate_limited {
            command
                .arg("--rate-limit-reads")
                .arg(settings.get_limit.to_string())
                .arg("--rate-limit-writes")
                .arg(settings.write_limit.to_string())
                .arg("--rate-limit-window")
                .arg(format!("{}s", settings.window_secs));
        } else {
            command.arg("--no-rate-limit");
        }
        let started = Instant::now();
        let proc = Proc::spawn_plain("zpa-operator", command, &self.dir.join(log))?;
        let metrics_url = format!("http://127.0.0.1:{port}");
        let deadline = started + Duration::from_secs(120);
        loop {
            let ready = self.http.get(format!("{metrics_url}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("the operator was not ready in 120 s (log: {})", self.dir.join(log).display()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((Operator { proc, metrics_url }, started.elapsed()))
    }

    async fn sim_stats(&self) -> Result<Value, String> {
        let url = format!("{}/__sim/stats", self.sim_url);
        let response = self.http.get(url).send().await.map_err(|e| format!("sim stats: {e}"))?;
        response.json().await.map_err(|e| format!("sim stats: {e}"))
    }

    async fn reset_sim_stats(&self) -> Result<(), String> {
        let url = format!("{}/__sim/stats/reset", self.sim_url);
        self.http.post(url).send().await.map(|_| ()).map_err(|e| format!("sim stats reset: {e}"))
    }

    async fn sim_rate_limit_off(&self) -> Result<(), String> {
        let url = format!("{}/__sim/rate-limit", self.sim_url);
        let response =
            self.http.put(url).json(&json!({"enabled": false})).send().await.map_err(|e| format!("rate limit: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("switching the simulator's rate limit off: {}", response.status()));
        }
        Ok(())
    }

    async fn operator_metrics(&self, operator: &Operator) -> Result<String, String> {
        let url = format!("{}/metrics", operator.metrics_url);
        let response = self.http.get(url).send().await.map_err(|e| format!("metrics: {e}"))?;
        response.text().await.map_err(|e| format!("metrics: {e}"))
    }
}

/// Every `_total` sample that moved between two scrapes.
fn counter_deltas(before: &str, after: &str) -> BTreeMap<String, u64> {
    let samples = |text: &str| -> BTreeMap<String, f64> {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains("_total"))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| Some((k.to_owned(), v.parse::<f64>().ok()?))))
            .collect()
    };
    let (before, after) = (samples(before), samples(after));
    after
        .into_iter()
        .filter_map(|(k, v)| {
            let moved = v - before.get(&k).copied().unwrap_or(0.0);
            (moved > 0.0).then(|| (k.trim_start_matches("zpa_operator_").to_owned(), moved as u64))
        })
        .collect()
}

/// Sum of the samples of `metric` whose labels contain every `filter`.
fn metric_sum(text: &str, metric: &str, filters: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(metric))
        .filter(|l| filters.iter().all(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

// ---------------------------------------------------------------- objects

/// How N splits into kinds.
#[derive(Debug, Clone)]
struct Plan {
    objects: usize,
    microtenants: usize,
    profiles: usize,
    scoped_microtenants: usize,
    profiles_per_microtenant: usize,
}

impl Plan {
    fn new(objects: usize, scoped_microtenants: usize, profiles_per_microtenant: usize) -> Self {
        let microtenants = (objects / 2).min(MAX_MICROTENANTS);
        let profiles = objects - microtenants;
        Self {
            objects,
            microtenants,
            profiles,
            scoped_microtenants: scoped_microtenants.min(microtenants),
            profiles_per_microtenant,
        }
    }

    /// Scoped profiles: `scoped_microtenants x profiles_per_microtenant`, at
    /// most a fifth of the profiles (so small runs keep unscoped ones).
    fn scoped_profiles(&self) -> usize {
        if self.scoped_microtenants == 0 {
            return 0;
        }
        (self.scoped_microtenants * self.profiles_per_microtenant).min(self.profiles / 5)
    }

    fn microtenant(&self, i: usize) -> Value {
        let name = format!("mt-{i:04}");
        json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"description": format!("benchmark {name}"), "enabled": true,
                     "criteriaAttributeValues": [format!("{name}.example.com")],
                     "adminCredentialsSecretRef": {"name": format!("{name}-admin")}}
        })
    }

    fn profile(&self, i: usize) -> Value {
        let name = format!("isop-{i:04}");
        let mut spec = json!({"description": "benchmark", "regions": ["Frankfurt", "London"],
                              "securityControls": {"copyPaste": "none", "uploadDownload": "upstream"}});
        if i < self.scoped_profiles() {
            spec["microtenantRef"] = json!({"name": format!("mt-{:04}", i % self.scoped_microtenants)});
        }
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
               "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec})
    }

    /// The unscoped profile whose spec the reaction phase edits.
    fn reaction_target(&self) -> Option<String> {
        (self.profiles > self.scoped_profiles()).then(|| format!("isop-{:04}", self.profiles - 1))
    }
}

async fn install(client: &Client, sim_url: &str) -> Result<(), String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for definition in crd::all() {
        crds.create(&PostParams::default(), &definition).await.map_err(|e| format!("CRD: {e}"))?;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(json!({"metadata": {"name": "zpa-system"}})).map_err(|e| e.to_string())?;
    namespaces.create(&PostParams::default(), &namespace).await.map_err(|e| format!("namespace: {e}"))?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "zpa-system");
    let secret = json!({"metadata": {"name": "zpa-credentials"},
                        "stringData": {"clientId": "sim-client", "clientSecret": "sim-secret"}});
    let secret = serde_json::from_value(secret).map_err(|e| e.to_string())?;
    secrets.create(&PostParams::default(), &secret).await.map_err(|e| format!("Secret: {e}"))?;
    let config = json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
        "metadata": {"name": "default"},
        "spec": {"baseUrl": sim_url, "customerId": CUSTOMER_ID, "auth": "legacy",
                 "credentialsSecretRef": {"namespace": "zpa-system", "name": "zpa-credentials"}}
    });
    Api::<ZpaProviderConfig>::all(client.clone())
        .patch("default", &PatchParams::apply("benchmark").force(), &Patch::Apply(&config))
        .await
        .map_err(|e| format!("ZpaProviderConfig: {e}"))?;
    Ok(())
}

/// Ready=True and Synced=True for the current generation.
fn is_ready(object: &Value) -> bool {
    let condition = |type_: &str| {
        object["status"]["conditions"].as_array().into_iter().flatten().any(|c| {
            c["type"] == type_ && c["status"] == "True" && c["observedGeneration"] == object["metadata"]["generation"]
        })
    };
    condition("Ready")
        && condition("Synced")
        && object["status"]["observedGeneration"] == object["metadata"]["generation"]
        && !object["metadata"]["generation"].is_null()
}

/// Which objects are Ready, kept current by a watch on both kinds.
#[derive(Default)]
struct Readiness {
    ready: Mutex<HashSet<String>>,
    changed: tokio::sync::Notify,
    /// Latest state of watched objects by key, for the reaction phase.
    latest: Mutex<HashMap<String, (Instant, Value)>>,
    keep_latest: Mutex<HashSet<String>>,
}

impl Readiness {
    fn observe(&self, key: String, object: Value) {
        let ready = is_ready(&object);
        let now = Instant::now();
        {
            let mut set = self.ready.lock().unwrap_or_else(|p| p.into_inner());
            if ready {
                set.insert(key.clone());
            } else {
                set.remove(&key);
            }
        }
        if self.keep_latest.lock().unwrap_or_else(|p| p.into_inner()).contains(&key) {
            self.latest.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (now, object));
        }
        self.changed.notify_waiters();
    }

    fn count(&self) -> usize {
        self.ready.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Watches one kind (as untyped objects: cheaper, and independent of the
/// status types) and feeds every version into `readiness`.
fn spawn_watch<K>(client: &Client, readiness: Arc<Readiness>, prefix: &'static str) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource<DynamicType = ()>,
{
    let resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::Apply(object) | watcher::Event::InitApply(object))) => {
                    let key = format!("{prefix}/{}", object.name_any());
                    let view = json!({"metadata": {"generation": object.metadata.generation},
                                      "status": object.data.get("status").cloned().unwrap_or_default()});
                    readiness.observe(key, view);
                }
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(error) => {
                    eprintln!("watch {prefix}: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

async fn wait_ready(readiness: &Readiness, want: usize, timeout: Duration) -> Result<(), usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let notified = readiness.changed.notified();
        if readiness.count() >= want {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(readiness.count());
        }
        let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
    }
}

async fn create_all(client: &Client, plan: &Plan) -> Result<(), String> {
    let manifests: Vec<Value> = (0..plan.microtenants)
        .map(|i| plan.microtenant(i))
        .chain((0..plan.profiles).map(|i| plan.profile(i)))
        .collect();
    futures::stream::iter(manifests)
        .map(|manifest| {
            let client = client.clone();
            async move {
                let name = manifest["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                let result = if manifest["kind"] == "Microtenant" {
                    let object: Microtenant = serde_json::from_value(manifest).map_err(|e| e.to_string())?;
                    Api::<Microtenant>::namespaced(client, NAMESPACE)
                        .create(&PostParams::default(), &object)
                        .await
                        .map(|_| ())
                } else {
                    let object: IsolationProfile = serde_json::from_value(manifest).map_err(|e| e.to_string())?;
                    Api::<IsolationProfile>::namespaced(client, NAMESPACE)
                        .create(&PostParams::default(), &object)
                        .await
                        .map(|_| ())
                };
                result.map_err(|e| format!("create {name}: {e}"))
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .map(|_| ())
}

// ---------------------------------------------------------------- one run

#[derive(Debug, Default)]
struct RunResult {
    objects: usize,
    microtenants: usize,
    profiles: usize,
    scoped_profiles: usize,
    write_limit: u32,
    get_limit: u32,
    window_secs: u64,
    apply_secs: f64,
    converge_secs: f64,
    writes: u64,
    floor_secs: f64,
    converge_ratio: f64,
    too_many_requests: u64,
    converge_reads: u64,
    converge_puts: u64,
    resync_secs: u64,
    steady_window_secs: f64,
    steady_writes: u64,
    steady_reads_microtenants: u64,
    steady_reads_profiles: u64,
    steady_reads_other: u64,
    steady_reads_limit: u64,
    steady_reconciles: u64,
    steady_status_writes: u64,
    steady_reads_by_route: BTreeMap<String, u64>,
    converge_by_route: BTreeMap<String, u64>,
    warmup_reads: u64,
    warmup_writes: u64,
    warmup_status_writes: u64,
    peak_rss_mib: f64,
    restart_peak_rss_mib: f64,
    rss_after_mib: f64,
    binary_mib: f64,
    startup_ms: f64,
    operator_cpu_secs: f64,
    standin_cpu_secs: f64,
    simulator_cpu_secs: f64,
    reaction_edits: usize,
    reaction_p50_ms: f64,
    reaction_p99_ms: f64,
    reaction_max_ms: f64,
}

impl RunResult {
    fn json(&self) -> String {
        json!({
            "objects": self.objects,
            "microtenants": self.microtenants,
            "isolationProfiles": self.profiles,
            "scopedProfiles": self.scoped_profiles,
            "limits": {"gets": self.get_limit, "writes": self.write_limit, "windowSecs": self.window_secs},
            "applySecs": round(self.apply_secs, 2),
            "converge_secs": round(self.converge_secs, 2),
            "writes": self.writes,
            "floor_secs": round(self.floor_secs, 2),
            "converge_ratio": round(self.converge_ratio, 3),
            "tooManyRequests": self.too_many_requests,
            "convergeReads": self.converge_reads,
            "convergePuts": self.converge_puts,
            "resyncIntervalSecs": self.resync_secs,
            "firstResync": {"reads": self.warmup_reads, "writes": self.warmup_writes, "statusWrites": self.warmup_status_writes},
            "steadyReadsByRoute": self.steady_reads_by_route,
            "convergeByRoute": self.converge_by_route,
            "steady": {
                "windowSecs": round(self.steady_window_secs, 1),
                "writes": self.steady_writes,
                "readsMicrotenants": self.steady_reads_microtenants,
                "readsIsolationProfiles": self.steady_reads_profiles,
                "readsOther": self.steady_reads_other,
                "readsTargetPerKind": self.steady_reads_limit,
                "perObjectReadsMicrotenants": self.microtenants,
                "perObjectReadsIsolationProfiles": self.profiles,
                "reconciles": self.steady_reconciles,
                "statusWrites": self.steady_status_writes,
            },
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "restart_peak_rss_mib": round(self.restart_peak_rss_mib, 1),
            "binary_mib": round(self.binary_mib, 1),
            "startup_ms": round(self.startup_ms, 0),
            "operatorCpuSecs": round(self.operator_cpu_secs, 1),
            "standinCpuSecs": round(self.standin_cpu_secs, 1),
            "simulatorCpuSecs": round(self.simulator_cpu_secs, 1),
            "reaction_edits": self.reaction_edits,
            "reaction_p50_ms": round(self.reaction_p50_ms, 1),
            "reaction_p99_ms": round(self.reaction_p99_ms, 1),
            "reaction_max_ms": round(self.reaction_max_ms, 1),
        })
        .to_string()
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn stat(stats: &Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap_or(0)
}

/// Requests by route with `method`, sign-in excluded.
fn routes<'a>(stats: &'a Value, method: &'a str) -> impl Iterator<Item = (&'a str, u64)> + 'a {
    stats["byRoute"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(move |(route, _)| route.starts_with(&format!("{method} ")) && !route.ends_with("/signin"))
        .map(|(route, count)| (route.as_str(), count.as_u64().unwrap_or(0)))
}

fn writes_of(stats: &Value) -> u64 {
    ["POST", "PUT", "DELETE", "PATCH"].iter().map(|m| routes(stats, m).map(|(_, n)| n).sum::<u64>()).sum()
}

fn log(json_only: bool, message: impl AsRef<str>) {
    if !json_only {
        eprintln!("   {}", message.as_ref());
    }
}

async fn run_one(bins: &Binaries, plan: &Plan, settings: &RunSettings, quiet: bool) -> Result<RunResult, String> {
    let dir = std::env::temp_dir().join(format!("zpa-converge-{}-{}", std::process::id(), plan.objects));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    log(quiet, format!("logs in {}", dir.display()));
    let kubeconfig = dir.join("kubeconfig");

    let mut standin_cmd = Command::new(&bins.standin);
    standin_cmd.args(["--listen", "127.0.0.1:0", "--kubeconfig"]).arg(&kubeconfig);
    let (standin, kube_url) =
        Proc::spawn("kube-standin", standin_cmd, "kube-standin listening", &dir.join("kube-standin.log")).await?;
    let kube_url = kube_url.ok_or("kube-standin printed no URL")?;

    let mut sim_cmd = Command::new(&bins.operator);
    sim_cmd.args(["simulator", "--listen", "127.0.0.1:0"]).args([
        "--get-limit",
        &settings.get_limit.to_string(),
        "--write-limit",
        &settings.write_limit.to_string(),
        "--rate-window-secs",
        &settings.window_secs.to_string(),
    ]);
    sim_cmd.env("RUST_LOG", "warn");
    let (sim, sim_url) =
        Proc::spawn("simulator", sim_cmd, "zpa simulator listening", &dir.join("simulator.log")).await?;
    let sim_url = sim_url.ok_or("the simulator printed no URL")?;

    let mut config = kube::Config::new(kube_url.parse().map_err(|e| format!("{kube_url}: {e}"))?);
    config.default_namespace = NAMESPACE.into();
    let client = Client::try_from(config).map_err(|e| format!("kube client: {e}"))?;
    install(&client, &sim_url).await?;

    let env = Env { bins, dir: dir.clone(), sim_url, kubeconfig, http: reqwest::Client::new() };
    let (operator, _) = env.start_operator(settings, true, "operator.log").await?;

    let readiness = Arc::new(Readiness::default());
    let watches = [
        spawn_watch::<Microtenant>(&client, readiness.clone(), "mt"),
        spawn_watch::<IsolationProfile>(&client, readiness.clone(), "isop"),
    ];
    // Let the provider config sign in, then count from zero.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.reset_sim_stats().await?;

    // 1. Converge.
    let write_rate = f64::from(settings.write_limit) / settings.window_secs as f64;
    let expected_floor = plan.objects as f64 / write_rate;
    let started = Instant::now();
    create_all(&client, plan).await?;
    let apply_secs = started.elapsed().as_secs_f64();
    log(quiet, format!("applied {} objects in {apply_secs:.1} s", plan.objects));
    let timeout = Duration::from_secs_f64(expected_floor * settings.timeout_floors + 60.0);
    if let Err(ready) = wait_ready(&readiness, plan.objects, timeout).await {
        return Err(format!(
            "only {ready} of {} objects Ready after {timeout:?} (logs: {})",
            plan.objects,
            dir.display()
        ));
    }
    let converge_secs = started.elapsed().as_secs_f64();
    let stats = env.sim_stats().await?;
    let writes = routes(&stats, "POST").map(|(_, n)| n).sum::<u64>();
    let floor_secs = writes as f64 / write_rate;
    let mut result = RunResult {
        objects: plan.objects,
        microtenants: plan.microtenants,
        profiles: plan.profiles,
        scoped_profiles: plan.scoped_profiles(),
        write_limit: settings.write_limit,
        get_limit: settings.get_limit,
        window_secs: settings.window_secs,
        apply_secs,
        converge_secs,
        writes,
        floor_secs,
        converge_ratio: converge_secs / floor_secs.max(f64::MIN_POSITIVE),
        too_many_requests: stat(&stats, "tooManyRequests"),
        converge_reads: routes(&stats, "GET").map(|(_, n)| n).sum(),
        converge_puts: routes(&stats, "PUT").map(|(_, n)| n).sum(),
        resync_secs: settings.resync_secs,
        converge_by_route: stats["byRoute"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(route, n)| (route.clone(), n.as_u64().unwrap_or(0)))
            .collect(),
        ..RunResult::default()
    };
    log(
        quiet,
        format!(
            "converged in {converge_secs:.1} s: {writes} POSTs, floor {floor_secs:.1} s, ratio {:.3}, {} x 429",
            result.converge_ratio, result.too_many_requests
        ),
    );

    // 2. Steady state: ZPA requests during one resync interval with all N in
    // sync. The first two intervals after converging are a warm-up: a created
    // profile's status shows what was sent until its first resync against a
    // list taken after the create, which adds the fields ZPA filled in (cbiUrl,
    // defaulted controls): one status write per profile, up to two intervals
    // after its create. Their figures are reported too; the steady figures are
    // the interval after them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let warmup = measure_window(&env, &operator, 2 * settings.resync_secs).await?;
    result.warmup_reads = warmup.reads_microtenants + warmup.reads_profiles + warmup.reads_other;
    result.warmup_writes = warmup.writes;
    result.warmup_status_writes = warmup.status_writes;
    log(quiet, format!("first two resync intervals after converge: {}", warmup.describe()));
    let steady = measure_window(&env, &operator, settings.resync_secs).await?;
    log(quiet, format!("steady state: {}", steady.describe()));
    if settings.explain_status_writes {
        log(quiet, format!("first interval counters: {:?}", warmup.counters));
        log(quiet, format!("steady counters: {:?}", steady.counters));
    }
    result.steady_window_secs = steady.secs;
    result.steady_writes = steady.writes;
    result.steady_reads_microtenants = steady.reads_microtenants;
    result.steady_reads_profiles = steady.reads_profiles;
    result.steady_reads_other = steady.reads_other;
    result.steady_reconciles = steady.reconciles;
    result.steady_status_writes = steady.status_writes;
    result.steady_reads_by_route = steady.by_route;
    result.steady_reads_limit = plan.objects.div_ceil(500) as u64 + 5;
    if settings.explain_status_writes {
        explain_status_writes(&client, settings.resync_secs).await?;
    }

    // 3. Footprint: peak RSS of the operator that converged N objects and
    // holds them in its caches; then a restart (rate limits off from here
    // on) timed to /readyz with the N objects present.
    let (peak, _) = operator.proc.memory_kib().ok_or("cannot read the operator's memory")?;
    result.peak_rss_mib = peak as f64 / 1024.0;
    result.operator_cpu_secs = operator.proc.cpu_secs().unwrap_or_default();
    result.standin_cpu_secs = standin.cpu_secs().unwrap_or_default();
    result.simulator_cpu_secs = sim.cpu_secs().unwrap_or_default();
    result.binary_mib =
        std::fs::metadata(&bins.operator).map(|m| m.len() as f64 / (1024.0 * 1024.0)).unwrap_or_default();
    operator.proc.stop().await;
    env.sim_rate_limit_off().await?;
    let (operator, startup) = env.start_operator(settings, false, "operator-restarted.log").await?;
    result.startup_ms = startup.as_secs_f64() * 1000.0;
    log(quiet, format!("restarted operator ready in {:.0} ms", result.startup_ms));

    // 4. Reaction, rate limits off.
    if settings.reaction_edits > 0
        && let Some(target) = plan.reaction_target()
    {
        // Let the restarted operator's first pass over every object finish.
        settle(&env, &operator).await?;
        let samples = reaction(&client, &readiness, &target, settings.reaction_edits).await?;
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        result.reaction_edits = sorted.len();
        result.reaction_p50_ms = percentile(&sorted, 0.50);
        result.reaction_p99_ms = percentile(&sorted, 0.99);
        result.reaction_max_ms = sorted.last().copied().unwrap_or_default();
        log(
            quiet,
            format!(
                "reaction over {} edits: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                result.reaction_edits, result.reaction_p50_ms, result.reaction_p99_ms, result.reaction_max_ms
            ),
        );
    }
    let (restart_peak, current) = operator.proc.memory_kib().unwrap_or_default();
    result.restart_peak_rss_mib = restart_peak as f64 / 1024.0;
    result.rss_after_mib = current as f64 / 1024.0;

    for watch in watches {
        watch.abort();
    }
    operator.proc.stop().await;
    sim.stop().await;
    standin.stop().await;
    if !settings.keep_logs {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(result)
}

/// ZPA requests and operator work during one window.
#[derive(Debug, Default)]
struct Window {
    secs: f64,
    writes: u64,
    reads_microtenants: u64,
    reads_profiles: u64,
    reads_other: u64,
    by_route: BTreeMap<String, u64>,
    reconciles: u64,
    status_writes: u64,
    /// Operator counters that moved in the window (reconciles by result, status writes by kind, ZPA calls).
    counters: BTreeMap<String, u64>,
}

impl Window {
    fn describe(&self) -> String {
        format!(
            "{:.1} s: {} writes, reads {} Microtenant / {} IsolationProfile / {} other; {} reconciles, {} status writes",
            self.secs,
            self.writes,
            self.reads_microtenants,
            self.reads_profiles,
            self.reads_other,
            self.reconciles,
            self.status_writes
        )
    }
}

async fn measure_window(env: &Env<'_>, operator: &Operator, secs: u64) -> Result<Window, String> {
    let before = env.operator_metrics(operator).await?;
    env.reset_sim_stats().await?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let stats = env.sim_stats().await?;
    let after = env.operator_metrics(operator).await?;
    let mut window = Window { secs: started.elapsed().as_secs_f64(), writes: writes_of(&stats), ..Window::default() };
    for (route, count) in routes(&stats, "GET") {
        window.by_route.insert(route.to_owned(), count);
        if route.contains("/microtenants") {
            window.reads_microtenants += count;
        } else if route.contains("/cbi/api/customers/{customerId}/profiles") {
            window.reads_profiles += count;
        } else {
            window.reads_other += count;
        }
    }
    let delta = |metric: &str| (metric_sum(&after, metric, &[]) - metric_sum(&before, metric, &[])).max(0.0) as u64;
    window.reconciles = delta("zpa_operator_reconciles_total");
    window.status_writes = delta("zpa_operator_status_writes_total");
    window.counters = counter_deltas(&before, &after);
    Ok(window)
}

/// Lists both kinds twice, a resync interval apart, and prints the status
/// changes of the objects whose status changed in between.
async fn explain_status_writes(client: &Client, secs: u64) -> Result<(), String> {
    async fn objects(client: &Client) -> Result<BTreeMap<String, Value>, String> {
        let mut out = BTreeMap::new();
        for (prefix, resource) in
            [("mt", ApiResource::erase::<Microtenant>(&())), ("isop", ApiResource::erase::<IsolationProfile>(&()))]
        {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
            for o in api.list(&Default::default()).await.map_err(|e| e.to_string())?.items {
                out.insert(format!("{prefix}/{}", o.name_any()), serde_json::to_value(&o).unwrap_or_default());
            }
        }
        Ok(out)
    }
    let before = objects(client).await?;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let after = objects(client).await?;
    let status_changed: Vec<&String> =
        after.keys().filter(|k| before.get(*k).map(|b| &b["status"]) != after.get(*k).map(|a| &a["status"])).collect();
    let rv_changed: Vec<&String> = after
        .keys()
        .filter(|k| {
            before.get(*k).map(|b| &b["metadata"]["resourceVersion"])
                != after.get(*k).map(|a| &a["metadata"]["resourceVersion"])
        })
        .collect();
    eprintln!(
        "   in {secs} s: {} objects changed status, {} changed resourceVersion",
        status_changed.len(),
        rv_changed.len()
    );
    for key in status_changed.iter().take(3) {
        eprintln!("   {key}:\n     before {}\n     after  {}", before[*key]["status"], after[*key]["status"]);
    }
    // What the operator compares with: the status as its typed cache holds it.
    for (key, object) in after
        .iter()
        .filter(|(k, _)| k.starts_with("mt/"))
        .take(1)
        .chain(after.iter().filter(|(k, _)| k.starts_with("isop/")).take(1))
    {
        let typed = if key.starts_with("mt/") {
            serde_json::from_value::<Microtenant>(object.clone())
                .map(|o| serde_json::to_value(o.status).unwrap_or_default())
        } else {
            serde_json::from_value::<IsolationProfile>(object.clone())
                .map(|o| serde_json::to_value(o.status).unwrap_or_default())
        };
        match typed {
            Ok(typed) if typed == object["status"] => eprintln!("   {key}: typed status round-trips"),
            Ok(typed) => {
                eprintln!("   {key}: typed status differs:\n     stored {}\n     typed  {typed}", object["status"])
            }
            Err(error) => eprintln!("   {key}: does not deserialize: {error}"),
        }
    }
    for key in rv_changed.iter().take(2) {
        eprintln!("   {key} (resourceVersion changed):\n     before {}\n     after  {}", before[*key], after[*key]);
    }
    Ok(())
}

/// Waits until the operator's reconcile count stops moving (its start-up pass is done).
async fn settle(env: &Env<'_>, operator: &Operator) -> Result<(), String> {
    let mut last = -1.0;
    for _ in 0..600 {
        let text = env.operator_metrics(operator).await?;
        let now = metric_sum(&text, "zpa_operator_reconciles_total", &[]);
        if now == last && now > 0.0 {
            return Ok(());
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Edits `name`'s description `edits` times, one after the other; each is
/// timed from the PATCH to the watch showing it Ready/Synced for the new
/// generation with the new description in `status.atProvider`.
async fn reaction(client: &Client, readiness: &Readiness, name: &str, edits: usize) -> Result<Vec<f64>, String> {
    let key = format!("isop/{name}");
    readiness.keep_latest.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone());
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), NAMESPACE);
    let params = PatchParams::default();
    let mut samples = Vec::with_capacity(edits);
    for i in 0..edits {
        let description = format!("edit {i} at {}", jiff::Timestamp::now());
        let patch = json!({"spec": {"description": description}});
        let started = Instant::now();
        api.patch(name, &params, &Patch::Merge(&patch)).await.map_err(|e| format!("edit {name}: {e}"))?;
        let deadline = started + Duration::from_secs(30);
        loop {
            let notified = readiness.changed.notified();
            let seen = readiness.latest.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
            if let Some((at, object)) = seen
                && is_ready(&object)
                && object["status"]["atProvider"]["description"] == description.as_str()
            {
                samples.push(at.saturating_duration_since(started).as_secs_f64() * 1000.0);
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("edit {i} of {name} not Ready with the new description within 30 s"));
            }
            let _ = tokio::time::timeout(Duration::from_millis(2), notified).await;
        }
    }
    Ok(samples)
}

// ---------------------------------------------------------------- output

fn print_table(r: &RunResult) {
    let ok = |good: bool| if good { "yes" } else { "NO" };
    let rows: Vec<(String, String, String, &str)> = vec![
        (
            "converge wall time".into(),
            format!("{:.1} s (apply took {:.1} s)", r.converge_secs, r.apply_secs),
            String::new(),
            "",
        ),
        (
            "floor = POSTs / write rate".into(),
            format!("{} / ({} per {} s) = {:.1} s", r.writes, r.write_limit, r.window_secs, r.floor_secs),
            String::new(),
            "",
        ),
        ("converge ratio".into(), format!("{:.3}", r.converge_ratio), "<= 1.10".into(), ok(r.converge_ratio <= 1.10)),
        ("429 responses".into(), r.too_many_requests.to_string(), "0".into(), ok(r.too_many_requests == 0)),
        ("converge reads / PUTs".into(), format!("{} / {}", r.converge_reads, r.converge_puts), String::new(), ""),
        (
            "first 2 resync intervals after converge".into(),
            format!("{} reads, {} writes, {} status writes", r.warmup_reads, r.warmup_writes, r.warmup_status_writes),
            String::new(),
            "",
        ),
        (
            format!("steady writes per resync ({} s)", r.resync_secs),
            r.steady_writes.to_string(),
            "0".into(),
            ok(r.steady_writes == 0),
        ),
        (
            "steady reads: Microtenant".into(),
            format!("{} (per-object: {})", r.steady_reads_microtenants, r.microtenants),
            format!("<= {}", r.steady_reads_limit),
            ok(r.steady_reads_microtenants <= r.steady_reads_limit),
        ),
        (
            "steady reads: IsolationProfile".into(),
            format!("{} (per-object: {})", r.steady_reads_profiles, r.profiles),
            format!("<= {}", r.steady_reads_limit),
            ok(r.steady_reads_profiles <= r.steady_reads_limit),
        ),
        ("steady reads: other (/me, ...)".into(), r.steady_reads_other.to_string(), String::new(), ""),
        (
            "steady reconciles / status writes".into(),
            format!("{} / {}", r.steady_reconciles, r.steady_status_writes),
            "status writes 0".into(),
            ok(r.steady_status_writes == 0),
        ),
        (
            "reaction p50 / p99".into(),
            format!("{:.1} / {:.1} ms ({} edits)", r.reaction_p50_ms, r.reaction_p99_ms, r.reaction_edits),
            "<= 100 / <= 500 ms".into(),
            ok(r.reaction_edits > 0 && r.reaction_p50_ms <= 100.0 && r.reaction_p99_ms <= 500.0),
        ),
        (
            format!("peak RSS ({} CRs in cache)", r.objects),
            format!("{:.1} MiB (restarted: {:.1} MiB)", r.peak_rss_mib, r.restart_peak_rss_mib),
            "<= 64 MiB".into(),
            ok(r.peak_rss_mib <= 64.0 && r.restart_peak_rss_mib <= 64.0),
        ),
        ("release binary".into(), format!("{:.1} MiB", r.binary_mib), String::new(), ""),
        ("start-up to /readyz".into(), format!("{:.0} ms", r.startup_ms), String::new(), ""),
        (
            "CPU until here: operator / stand-in / sim".into(),
            format!("{:.1} / {:.1} / {:.1} s", r.operator_cpu_secs, r.standin_cpu_secs, r.simulator_cpu_secs),
            String::new(),
            "",
        ),
    ];
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    println!(
        "\nN = {} ({} Microtenants, {} IsolationProfiles, {} scoped); limits {} GET / {} writes per {} s",
        r.objects, r.microtenants, r.profiles, r.scoped_profiles, r.get_limit, r.write_limit, r.window_secs
    );
    println!("{:width$}  {:value_width$}  {:18}  met", "figure", "value", "target");
    for (name, value, target, met) in rows {
        println!("{name:width$}  {value:value_width$}  {target:18}  {met}");
    }
    println!();
}

fn print_scaling(results: &[RunResult]) {
    println!("scaling");
    println!(
        "{:>6}  {:>12}  {:>8}  {:>6}  {:>5}  {:>14}  {:>14}  {:>9}  {:>9}  {:>9}  {:>9}",
        "N",
        "limits (W/G)",
        "converge",
        "ratio",
        "429s",
        "steady mt rd",
        "steady isop rd",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "start ms"
    );
    for r in results {
        println!(
            "{:>6}  {:>12}  {:>7.1}s  {:>6.3}  {:>5}  {:>14}  {:>14}  {:>9.1}  {:>9.1}  {:>9.1}  {:>9.0}",
            r.objects,
            format!("{}/{}", r.write_limit, r.get_limit),
            r.converge_secs,
            r.converge_ratio,
            r.too_many_requests,
            format!("{} (vs {})", r.steady_reads_microtenants, r.microtenants),
            format!("{} (vs {})", r.steady_reads_profiles, r.profiles),
            r.reaction_p50_ms,
            r.reaction_p99_ms,
            r.peak_rss_mib.max(r.restart_peak_rss_mib),
            r.startup_ms
        );
    }
}
