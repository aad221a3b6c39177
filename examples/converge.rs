//! The performance benchmark: the real operator binary against the ZPA
//! simulator and a real Kubernetes control plane (etcd, kube-apiserver,
//! kube-controller-manager), each its own process, started by the tests'
//! process harness (`tests/support/`).
//!
//! ```sh
//! cargo build --release --bin zpa-operator --example converge
//! cargo run --release --example converge -- --objects 1000
//! cargo run --release --example converge -- --scaling   # N = 1,000, 5,000, 10,000, 20,000
//! ```
//!
//! One run of N objects, on a control plane of its own, measures in order:
//! 1. converge: N new CRs (Microtenants: half, at most ZPA's 500; the rest
//!    IsolationProfiles, some scoped to Microtenants) applied as fast as the
//!    API takes them, timed until every one is Ready and Synced for its
//!    generation; divided by the floor `POSTs / write rate`; and what the
//!    operator cost the API server meanwhile (its `/metrics`: requests by
//!    verb and resource, watch events sent, etcd requests);
//! 2. the resyncs after it: ZPA requests and status writes in the first and
//!    second resync interval, then one steady interval;
//! 3. footprint: the operator's peak RSS with N objects in its caches, the
//!    release binary's size, and the start-up time of a restarted operator to
//!    `/readyz` with the N objects present;
//! 4. reaction: rate limits off, one object's spec edited sequentially, each
//!    timed from the PATCH to Ready/Synced with the new value in `atProvider`.
//!
//! It prints a table and one JSON line (`--json-only`: the JSON line alone).
//! BENCHMARKS.md has the figures and how each was reached.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use support::controlplane::ControlPlane;
use support::manifests;
use support::processes::{Operator, Process, cpu_secs, memory_kib, operator_binary};
use zpa_operator::crd::{IsolationProfile, Microtenant, ZpaProviderConfig};

const NAMESPACE: &str = "default";
const CUSTOMER_ID: &str = "72057594037927936";
const MAX_MICROTENANTS: usize = 500;
const SCALING: [usize; 4] = [1000, 5000, 10_000, 20_000];

#[derive(Debug, Clone, Parser)]
#[command(about = "Converge, steady-state, reaction and footprint benchmark of zpa-operator")]
struct Args {
    /// Objects to converge (Microtenants: half, at most 500; the rest IsolationProfiles).
    #[arg(long, default_value_t = 1000)]
    objects: usize,
    /// Several runs, one after the other (comma-separated N), each on a control plane of its own.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Run N = 1,000, 5,000, 10,000 and 20,000 one after the other.
    #[arg(long)]
    scaling: bool,
    /// Simulator and operator write limit per window (default: 10x ZPA's; 100x
    /// from 5,000 objects; 400x from 20,000).
    #[arg(long)]
    write_limit: Option<u32>,
    /// Simulator and operator GET limit per window (default: as the write limit, twice as many).
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
    /// Print only the JSON line(s).
    #[arg(long)]
    json_only: bool,
    /// The `zpa-operator` binary to run (default: the one next to this example's directory).
    #[arg(long)]
    operator_binary: Option<PathBuf>,
    /// Extra environment for the operator process (KEY=VALUE, repeatable).
    #[arg(long = "operator-env")]
    operator_env: Vec<String>,
    /// Extra arguments for the operator's `run` (repeatable, e.g. `--operator-arg=--log-level=debug`).
    #[arg(long = "operator-arg", allow_hyphen_values = true)]
    operator_args: Vec<String>,
    /// Keep the processes' logs (in the directory printed at the start), the
    /// control plane's included.
    #[arg(long)]
    keep_logs: bool,
    /// After the steady window, print how the status of objects that were
    /// written in one more window changed (diagnostics).
    #[arg(long)]
    explain_status_writes: bool,
    /// Stop after the converge and the resync windows (no restart, no reaction).
    #[arg(long)]
    skip_restart: bool,
    /// Give up when converging takes longer than this many floors (plus 5 minutes).
    #[arg(long, default_value_t = 5.0)]
    timeout_floors: f64,
}

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("converge: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("converge: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let binary = args.operator_binary.clone().unwrap_or_else(|| operator_binary().to_path_buf());
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: build it first with `cargo build --release --bin zpa-operator --example converge`",
            binary.display()
        ));
    }
    let sizes: Vec<usize> = if args.scaling {
        SCALING.to_vec()
    } else if !args.sizes.is_empty() {
        args.sizes.clone()
    } else {
        vec![args.objects]
    };
    let mut results = Vec::new();
    for objects in sizes {
        let (write_limit, get_limit) = limits_for(&args, objects);
        let plan = Plan::new(objects, args.scoped_microtenants, args.profiles_per_microtenant);
        let settings = RunSettings { write_limit, get_limit, binary: binary.clone(), ..RunSettings::from(&args) };
        if !args.json_only {
            eprintln!(
                "== N = {objects}: {} Microtenants, {} IsolationProfiles ({} scoped); limits {get_limit} GET / {write_limit} writes per {} s",
                plan.microtenants,
                plan.profiles,
                plan.scoped_profiles(),
                args.window_secs
            );
        }
        let result = run_one(&plan, &settings, args.json_only).await?;
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

/// 10x ZPA's limits; 100x from 5,000 objects and 400x from 20,000 (so the
/// runs stay short), unless given. GETs: twice the writes, as ZPA.
fn limits_for(args: &Args, objects: usize) -> (u32, u32) {
    let factor = match objects {
        20_000.. => 400,
        5000.. => 100,
        _ => 10,
    };
    let writes = args.write_limit.unwrap_or(10 * factor);
    (writes, args.get_limit.unwrap_or(2 * writes))
}

#[derive(Debug, Clone)]
struct RunSettings {
    binary: PathBuf,
    write_limit: u32,
    get_limit: u32,
    window_secs: u64,
    resync_secs: u64,
    concurrency: Option<u16>,
    reaction_edits: usize,
    timeout_floors: f64,
    operator_env: Vec<(String, String)>,
    operator_args: Vec<String>,
    keep_logs: bool,
    explain_status_writes: bool,
    skip_restart: bool,
}

impl From<&Args> for RunSettings {
    fn from(args: &Args) -> Self {
        Self {
            binary: PathBuf::new(),
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
            operator_args: args.operator_args.clone(),
            keep_logs: args.keep_logs,
            explain_status_writes: args.explain_status_writes,
            skip_restart: args.skip_restart,
        }
    }
}

// ---------------------------------------------------------------- processes

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// The processes of one run, and what the benchmark talks to them with.
struct Env {
    plane: &'static ControlPlane,
    dir: PathBuf,
    sim: Process,
    sim_url: String,
    http: reqwest::Client,
}

/// A running operator and its `/metrics` URL.
struct RunningOperator {
    process: Operator,
    url: String,
}

impl Env {
    /// Starts the operator; returns it and the time from spawn until `/readyz` answered 200.
    async fn start_operator(
        &self,
        settings: &RunSettings,
        rate_limited: bool,
        name: &str,
    ) -> Result<(RunningOperator, Duration), String> {
        let port = free_port()?;
        let mut command = Command::new(&settings.binary);
        command
            .arg("run")
            .arg("--metrics-listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--resync-interval")
            .arg(format!("{}s", settings.resync_secs))
            .args(["--log-level", "warn"])
            .env("KUBECONFIG", self.plane.admin_kubeconfig())
            .env_remove("RUST_LOG");
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
        command.args(&settings.operator_args);
        let log = self.dir.join(format!("{name}.log"));
        let started = Instant::now();
        let process = Operator::spawn(name, command, log.clone());
        let url = format!("http://127.0.0.1:{port}");
        let deadline = started + Duration::from_secs(300);
        loop {
            let ready = self.http.get(format!("{url}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("the operator was not ready in 300 s (log: {})", log.display()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((RunningOperator { process, url }, started.elapsed()))
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

    async fn operator_metrics(&self, operator: &RunningOperator) -> Result<String, String> {
        let url = format!("{}/metrics", operator.url);
        let response = self.http.get(url).send().await.map_err(|e| format!("metrics: {e}"))?;
        response.text().await.map_err(|e| format!("metrics: {e}"))
    }

    /// CPU seconds so far of the operator, the simulator and each control plane component.
    fn cpu(&self, operator: &RunningOperator) -> Cpu {
        let plane = self.plane.component_pids().into_iter().map(|(name, pid)| (name, cpu_secs(pid).unwrap_or(0.0)));
        Cpu {
            operator: cpu_secs(operator.process.pid()).unwrap_or(0.0),
            simulator: cpu_secs(self.sim.pid()).unwrap_or(0.0),
            plane: plane.collect(),
        }
    }
}

/// CPU seconds used so far, by process.
#[derive(Debug, Clone, Default)]
struct Cpu {
    operator: f64,
    simulator: f64,
    plane: BTreeMap<&'static str, f64>,
}

impl Cpu {
    fn plane(&self, name: &str) -> f64 {
        self.plane.get(name).copied().unwrap_or(0.0)
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

// ---------------------------------------------------------------- the API server's side

/// The API server's `/metrics`, read with the admin client.
async fn apiserver_metrics(client: &Client) -> Result<String, String> {
    let request = http::Request::get("/metrics").body(Vec::new()).map_err(|e| e.to_string())?;
    client.request_text(request).await.map_err(|e| format!("kube-apiserver /metrics: {e}"))
}

/// The labels of one Prometheus sample line, and its value.
fn parse_sample(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = value.parse::<f64>().ok()?;
    let Some((name, labels)) = head.split_once('{') else {
        return Some((head, BTreeMap::new(), value));
    };
    let labels = labels.trim_end_matches('}');
    let mut out = BTreeMap::new();
    for pair in labels.split("\",") {
        if let Some((key, value)) = pair.split_once("=\"") {
            out.insert(key, value.trim_end_matches('"'));
        }
    }
    Some((name, out, value))
}

/// Counters of the API server, summed by the labels that matter here.
#[derive(Debug, Clone, Default)]
struct ApiServerCounters {
    /// `VERB resource[/subresource]` -> requests (`apiserver_request_total`).
    requests: BTreeMap<String, f64>,
    /// resource -> watch events sent to watchers (`apiserver_watch_events_total`).
    watch_events: BTreeMap<String, f64>,
    /// resource -> watches open now (`apiserver_longrunning_requests{verb="WATCH"}`, a gauge).
    watchers: BTreeMap<String, f64>,
    /// operation -> requests to etcd (`etcd_requests_total`).
    etcd: BTreeMap<String, f64>,
}

impl ApiServerCounters {
    fn parse(text: &str) -> Self {
        let mut counters = Self::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, labels, value)) = parse_sample(line) else { continue };
            let label = |key: &str| labels.get(key).copied().unwrap_or_default();
            let resource = || {
                let (resource, kind) = (label("resource"), label("kind"));
                if resource.is_empty() { kind.to_lowercase() } else { resource.to_owned() }
            };
            match name {
                "apiserver_request_total" => {
                    let resource = match (label("resource"), label("subresource")) {
                        ("", _) => continue,
                        (resource, "") => resource.to_owned(),
                        (resource, sub) => format!("{resource}/{sub}"),
                    };
                    *counters.requests.entry(format!("{} {resource}", label("verb"))).or_default() += value;
                }
                "apiserver_watch_events_total" => *counters.watch_events.entry(resource()).or_default() += value,
                "apiserver_longrunning_requests" if label("verb") == "WATCH" => {
                    *counters.watchers.entry(resource()).or_default() += value
                }
                "etcd_requests_total" => *counters.etcd.entry(label("operation").to_owned()).or_default() += value,
                _ => {}
            }
        }
        counters
    }

    /// What moved from `before` to `self` (gauges: their value now).
    fn since(&self, before: &Self) -> Self {
        let delta = |after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>| {
            after
                .iter()
                .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
                .filter(|(_, v)| *v > 0.0)
                .collect()
        };
        Self {
            requests: delta(&self.requests, &before.requests),
            watch_events: delta(&self.watch_events, &before.watch_events),
            watchers: self.watchers.clone(),
            etcd: delta(&self.etcd, &before.etcd),
        }
    }
}

/// What the operator cost the API server in a window.
#[derive(Debug, Clone, Default)]
struct ApiServerCost {
    /// The operator's requests by `VERB resource[/subresource]` (the
    /// benchmark's own creates taken out).
    requests: BTreeMap<String, f64>,
    writes: f64,
    reads: f64,
    /// Watch events the API server sent, by resource, to every watcher (the
    /// operator's, the benchmark's readiness watch, the garbage collector's).
    watch_events: BTreeMap<String, f64>,
    watch_events_total: f64,
    /// Watchers by resource at the end of the window.
    watchers: BTreeMap<String, f64>,
    /// etcd requests by operation (everyone's).
    etcd: BTreeMap<String, f64>,
    etcd_writes: f64,
}

const WRITE_VERBS: [&str; 5] = ["POST", "PUT", "PATCH", "APPLY", "DELETE"];

impl ApiServerCost {
    /// The API server's counters over a window, without `own` (requests the benchmark made).
    fn new(delta: ApiServerCounters, own: &[(&str, f64)]) -> Self {
        let mut requests = delta.requests;
        for (key, count) in own {
            if let Some(value) = requests.get_mut(*key) {
                *value -= count;
            }
        }
        requests.retain(|key, value| *value > 0.0 && !key.ends_with(" leases"));
        let is_write = |key: &str| WRITE_VERBS.iter().any(|verb| key.starts_with(&format!("{verb} ")));
        // Sums start at 0.0 (an empty f64 sum is -0.0).
        let writes = requests.iter().filter(|(k, _)| is_write(k)).fold(0.0, |sum, (_, v)| sum + v);
        let reads = requests.iter().filter(|(k, _)| !is_write(k)).fold(0.0, |sum, (_, v)| sum + v);
        let etcd_writes = ["create", "update", "delete"]
            .iter()
            .fold(0.0, |sum, op| sum + delta.etcd.get(*op).copied().unwrap_or(0.0));
        Self {
            requests,
            writes,
            reads,
            watch_events_total: delta.watch_events.values().fold(0.0, |sum, v| sum + v),
            watch_events: delta.watch_events,
            watchers: delta.watchers,
            etcd: delta.etcd,
            etcd_writes,
        }
    }

    fn json(&self, objects: usize) -> Value {
        let per = |v: f64| round(v / objects.max(1) as f64, 2);
        json!({
            "requests": self.requests.iter().map(|(k, v)| (k.clone(), json!(*v as u64))).collect::<serde_json::Map<_, _>>(),
            "writes": self.writes as u64,
            "reads": self.reads as u64,
            "writesPerObject": per(self.writes),
            "readsPerObject": per(self.reads),
            "watchEvents": self.watch_events.iter().map(|(k, v)| (k.clone(), json!(*v as u64))).collect::<serde_json::Map<_, _>>(),
            "watchEventsPerObject": per(self.watch_events_total),
            "watchers": self.watchers.iter().map(|(k, v)| (k.clone(), json!(*v as u64))).collect::<serde_json::Map<_, _>>(),
            "etcd": self.etcd.iter().map(|(k, v)| (k.clone(), json!(*v as u64))).collect::<serde_json::Map<_, _>>(),
            "etcdWritesPerObject": per(self.etcd_writes),
        })
    }

    /// The largest request counts, per object.
    fn top(&self, objects: usize, n: usize) -> String {
        let mut sorted: Vec<(&String, &f64)> = self.requests.iter().collect();
        sorted.sort_by(|a, b| b.1.total_cmp(a.1));
        sorted
            .into_iter()
            .take(n)
            .map(|(k, v)| format!("{k} {:.2}", v / objects.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
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
        manifests::in_namespace(manifests::microtenant(&format!("mt-{i:05}")), NAMESPACE)
    }

    fn profile(&self, i: usize) -> Value {
        let profile = manifests::in_namespace(manifests::profile(&format!("isop-{i:05}")), NAMESPACE);
        if i < self.scoped_profiles() {
            let scope = json!({"microtenantRef": {"name": format!("mt-{:05}", i % self.scoped_microtenants)}});
            return manifests::with_spec(profile, scope);
        }
        profile
    }

    /// The unscoped profile whose spec the reaction phase edits.
    fn reaction_target(&self) -> Option<String> {
        (self.profiles > self.scoped_profiles()).then(|| format!("isop-{:05}", self.profiles - 1))
    }
}

/// The provider config `default` and its credentials (the CRDs are the plane's).
async fn install(client: &Client, sim_url: &str) -> Result<(), String> {
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
    control_plane_start_secs: f64,
    apply_secs: f64,
    converge_secs: f64,
    writes: u64,
    floor_secs: f64,
    converge_ratio: f64,
    too_many_requests: u64,
    converge_reads: u64,
    converge_puts: u64,
    converge_reconciles: u64,
    converge_status_writes: u64,
    /// Operator counters that moved during the converge (reconciles by result, ZPA calls, ...).
    converge_counters: BTreeMap<String, u64>,
    converge_operator_cpu_secs: f64,
    converge_cpu: Cpu,
    converge_apiserver: ApiServerCost,
    resync_secs: u64,
    first_resync: Window,
    second_resync: Window,
    steady: Window,
    steady_reads_limit: u64,
    converge_by_route: BTreeMap<String, u64>,
    peak_rss_mib: f64,
    restart_peak_rss_mib: f64,
    rss_after_mib: f64,
    apiserver_rss_mib: f64,
    etcd_rss_mib: f64,
    binary_mib: f64,
    startup_ms: f64,
    startup_cpu_secs: f64,
    cpu: Cpu,
    reaction_edits: usize,
    reaction_p50_ms: f64,
    reaction_p99_ms: f64,
    reaction_max_ms: f64,
}

impl RunResult {
    fn cpu_ms_per_object(&self) -> f64 {
        self.converge_operator_cpu_secs * 1000.0 / self.objects.max(1) as f64
    }

    fn json(&self) -> String {
        let cpu = |cpu: &Cpu| {
            json!({"operator": round(cpu.operator, 1), "simulator": round(cpu.simulator, 1),
                   "etcd": round(cpu.plane("etcd"), 1), "kubeApiserver": round(cpu.plane("kube-apiserver"), 1),
                   "kubeControllerManager": round(cpu.plane("kube-controller-manager"), 1)})
        };
        json!({
            "objects": self.objects,
            "microtenants": self.microtenants,
            "isolationProfiles": self.profiles,
            "scopedProfiles": self.scoped_profiles,
            "limits": {"gets": self.get_limit, "writes": self.write_limit, "windowSecs": self.window_secs},
            "controlPlaneStartSecs": round(self.control_plane_start_secs, 1),
            "applySecs": round(self.apply_secs, 2),
            "converge_secs": round(self.converge_secs, 2),
            "writes": self.writes,
            "floor_secs": round(self.floor_secs, 2),
            "converge_ratio": round(self.converge_ratio, 3),
            "tooManyRequests": self.too_many_requests,
            "convergeReads": self.converge_reads,
            "convergePuts": self.converge_puts,
            "convergeReconciles": self.converge_reconciles,
            "convergeStatusWrites": self.converge_status_writes,
            "convergeCounters": self.converge_counters,
            "convergeCpuSecs": cpu(&self.converge_cpu),
            "operatorCpuMsPerObject": round(self.cpu_ms_per_object(), 2),
            "convergeApiServer": self.converge_apiserver.json(self.objects),
            "convergeByRoute": self.converge_by_route,
            "resyncIntervalSecs": self.resync_secs,
            "firstResync": self.first_resync.json(),
            "secondResync": self.second_resync.json(),
            "steady": self.steady.json(),
            "steadyReadsTargetPerKind": self.steady_reads_limit,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "restart_peak_rss_mib": round(self.restart_peak_rss_mib, 1),
            "apiserverRssMib": round(self.apiserver_rss_mib, 1),
            "etcdRssMib": round(self.etcd_rss_mib, 1),
            "binary_mib": round(self.binary_mib, 1),
            "startup_ms": round(self.startup_ms, 0),
            "startupCpuSecs": round(self.startup_cpu_secs, 2),
            "cpuSecs": cpu(&self.cpu),
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

/// Runs a blocking harness call (the control plane's) off the async workers.
async fn blocking<T: Send + 'static>(what: &str, call: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(call).await.map_err(|e| format!("{what}: {e}"))
}

async fn run_one(plan: &Plan, settings: &RunSettings, quiet: bool) -> Result<RunResult, String> {
    let dir = std::env::temp_dir().join(format!("zpa-converge-{}-{}", std::process::id(), plan.objects));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    log(quiet, format!("logs in {}", dir.display()));

    let plane = blocking("starting the control plane", ControlPlane::dedicated).await?;
    blocking("installing the CRDs", || plane.install_crds()).await?;
    log(quiet, format!("control plane started in {:.1} s", plane.started_in.as_secs_f64()));
    let result = run_on(plane, &dir, plan, settings, quiet).await;
    if settings.keep_logs {
        for name in ["etcd.log", "kube-apiserver.log", "kube-controller-manager.log"] {
            let _ = std::fs::copy(plane.dir.join(name), dir.join(name));
        }
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    blocking("stopping the control plane", || plane.stop()).await?;
    result
}

async fn run_on(
    plane: &'static ControlPlane,
    dir: &std::path::Path,
    plan: &Plan,
    settings: &RunSettings,
    quiet: bool,
) -> Result<RunResult, String> {
    let client = plane.admin_client().await;
    let mut simulator = Command::new(&settings.binary);
    simulator.args(["simulator", "--listen", "127.0.0.1:0"]).args([
        "--get-limit",
        &settings.get_limit.to_string(),
        "--write-limit",
        &settings.write_limit.to_string(),
        "--rate-window-secs",
        &settings.window_secs.to_string(),
    ]);
    let sim_log = std::fs::File::create(dir.join("simulator.log")).map_err(|e| format!("simulator log: {e}"))?;
    simulator.env("RUST_LOG", "warn").stderr(Stdio::from(sim_log));
    let (sim, sim_url) =
        blocking("starting the simulator", move || Process::spawn_listening(simulator, "zpa simulator listening on"))
            .await?;
    install(&client, &sim_url).await?;

    let env = Env { plane, dir: dir.to_path_buf(), sim, sim_url, http: reqwest::Client::new() };
    let (mut operator, _) = env.start_operator(settings, true, "operator").await?;

    let readiness = Arc::new(Readiness::default());
    let watches = [
        spawn_watch::<Microtenant>(&client, readiness.clone(), "mt"),
        spawn_watch::<IsolationProfile>(&client, readiness.clone(), "isop"),
    ];
    // Let the provider config sign in, then count from zero.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.reset_sim_stats().await?;
    let cpu_before = env.cpu(&operator);
    let apiserver_before = ApiServerCounters::parse(&apiserver_metrics(&client).await?);
    let metrics_before = env.operator_metrics(&operator).await?;

    // 1. Converge.
    let write_rate = f64::from(settings.write_limit) / settings.window_secs as f64;
    let expected_floor = plan.objects as f64 / write_rate;
    let started = Instant::now();
    create_all(&client, plan).await?;
    let apply_secs = started.elapsed().as_secs_f64();
    log(quiet, format!("applied {} objects in {apply_secs:.1} s", plan.objects));
    let timeout = Duration::from_secs_f64(expected_floor * settings.timeout_floors + 300.0);
    if let Err(ready) = wait_ready(&readiness, plan.objects, timeout).await {
        return Err(format!(
            "only {ready} of {} objects Ready after {timeout:?} (logs: {})",
            plan.objects,
            dir.display()
        ));
    }
    let converge_secs = started.elapsed().as_secs_f64();
    let stats = env.sim_stats().await?;
    let cpu_converged = env.cpu(&operator);
    let metrics_converged = env.operator_metrics(&operator).await?;
    let apiserver_after = ApiServerCounters::parse(&apiserver_metrics(&client).await?);
    let own = [("POST microtenants", plan.microtenants as f64), ("POST isolationprofiles", plan.profiles as f64)];
    let converge_apiserver = ApiServerCost::new(apiserver_after.since(&apiserver_before), &own);
    let delta = |metric: &str| {
        (metric_sum(&metrics_converged, metric, &[]) - metric_sum(&metrics_before, metric, &[])).max(0.0) as u64
    };
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
        control_plane_start_secs: plane.started_in.as_secs_f64(),
        apply_secs,
        converge_secs,
        writes,
        floor_secs,
        converge_ratio: converge_secs / floor_secs.max(f64::MIN_POSITIVE),
        too_many_requests: stat(&stats, "tooManyRequests"),
        converge_reads: routes(&stats, "GET").map(|(_, n)| n).sum(),
        converge_puts: routes(&stats, "PUT").map(|(_, n)| n).sum(),
        converge_reconciles: delta("zpa_operator_reconciles_total"),
        converge_status_writes: delta("zpa_operator_status_writes_total"),
        converge_counters: counter_deltas(&metrics_before, &metrics_converged),
        converge_operator_cpu_secs: cpu_converged.operator - cpu_before.operator,
        converge_cpu: Cpu {
            operator: cpu_converged.operator - cpu_before.operator,
            simulator: cpu_converged.simulator - cpu_before.simulator,
            plane: cpu_converged.plane.iter().map(|(k, v)| (*k, v - cpu_before.plane(k))).collect(),
        },
        converge_apiserver,
        resync_secs: settings.resync_secs,
        converge_by_route: stats["byRoute"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(route, n)| (route.clone(), n.as_u64().unwrap_or(0)))
            .collect(),
        steady_reads_limit: plan.objects.div_ceil(500) as u64 + 5,
        ..RunResult::default()
    };
    log(
        quiet,
        format!(
            "converged in {converge_secs:.1} s: {writes} POSTs, floor {floor_secs:.1} s, ratio {:.3}, {} x 429; {} reconciles, {} status writes; operator CPU {:.1} ms per object",
            result.converge_ratio,
            result.too_many_requests,
            result.converge_reconciles,
            result.converge_status_writes,
            result.cpu_ms_per_object()
        ),
    );
    log(
        quiet,
        format!(
            "API server during converge, per object: {:.2} writes, {:.2} reads by the operator ({}); {:.2} watch events sent; {:.2} etcd writes",
            result.converge_apiserver.writes / plan.objects as f64,
            result.converge_apiserver.reads / plan.objects as f64,
            result.converge_apiserver.top(plan.objects, 6),
            result.converge_apiserver.watch_events_total / plan.objects as f64,
            result.converge_apiserver.etcd_writes / plan.objects as f64,
        ),
    );

    // 2. The resyncs after converging: the first two intervals (each
    // object's first and second resync against a list taken after its
    // create), then one steady interval.
    result.first_resync = measure_window(&env, &client, &operator, settings.resync_secs).await?;
    log(quiet, format!("first resync interval after converge: {}", result.first_resync.describe()));
    result.second_resync = measure_window(&env, &client, &operator, settings.resync_secs).await?;
    log(quiet, format!("second resync interval: {}", result.second_resync.describe()));
    result.steady = measure_window(&env, &client, &operator, settings.resync_secs).await?;
    log(quiet, format!("steady state: {}", result.steady.describe()));
    if settings.explain_status_writes {
        log(quiet, format!("first interval counters: {:?}", result.first_resync.counters));
        log(quiet, format!("steady counters: {:?}", result.steady.counters));
        explain_status_writes(&client, settings.resync_secs).await?;
    }

    // 3. Footprint: peak RSS of the operator that converged N objects and
    // holds them in its caches; then a restart (rate limits off from here
    // on) timed to /readyz with the N objects present.
    let (peak, _) = memory_kib(operator.process.pid()).ok_or("cannot read the operator's memory")?;
    result.peak_rss_mib = peak as f64 / 1024.0;
    result.binary_mib =
        std::fs::metadata(&settings.binary).map(|m| m.len() as f64 / (1024.0 * 1024.0)).unwrap_or_default();
    result.cpu = env.cpu(&operator);
    if !settings.skip_restart {
        operator.process.kill();
        env.sim_rate_limit_off().await?;
        let (restarted, startup) = env.start_operator(settings, false, "operator-restarted").await?;
        operator = restarted;
        result.startup_ms = startup.as_secs_f64() * 1000.0;
        result.startup_cpu_secs = cpu_secs(operator.process.pid()).unwrap_or_default();
        log(
            quiet,
            format!("restarted operator ready in {:.0} ms ({:.2} s CPU)", result.startup_ms, result.startup_cpu_secs),
        );

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
        } else {
            settle(&env, &operator).await?;
        }
        let (restart_peak, current) = memory_kib(operator.process.pid()).unwrap_or_default();
        result.restart_peak_rss_mib = restart_peak as f64 / 1024.0;
        result.rss_after_mib = current as f64 / 1024.0;
    }
    for (name, pid) in plane.component_pids() {
        let (peak, _) = memory_kib(pid).unwrap_or_default();
        match name {
            "kube-apiserver" => result.apiserver_rss_mib = peak as f64 / 1024.0,
            "etcd" => result.etcd_rss_mib = peak as f64 / 1024.0,
            _ => {}
        }
    }

    for watch in watches {
        watch.abort();
    }
    Ok(result)
}

/// ZPA requests, operator work and API server requests during one window.
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
    apiserver: ApiServerCost,
}

impl Window {
    fn describe(&self) -> String {
        format!(
            "{:.1} s: ZPA {} writes, reads {} Microtenant / {} IsolationProfile / {} other; {} reconciles, {} status writes; API server: {} writes, {} reads by the operator",
            self.secs,
            self.writes,
            self.reads_microtenants,
            self.reads_profiles,
            self.reads_other,
            self.reconciles,
            self.status_writes,
            self.apiserver.writes,
            self.apiserver.reads
        )
    }

    fn json(&self) -> Value {
        json!({
            "windowSecs": round(self.secs, 1),
            "writes": self.writes,
            "readsMicrotenants": self.reads_microtenants,
            "readsIsolationProfiles": self.reads_profiles,
            "readsOther": self.reads_other,
            "readsByRoute": self.by_route,
            "reconciles": self.reconciles,
            "statusWrites": self.status_writes,
            "apiServer": {"writes": self.apiserver.writes as u64, "reads": self.apiserver.reads as u64,
                          "requests": self.apiserver.requests.iter().map(|(k, v)| (k.clone(), json!(*v as u64))).collect::<serde_json::Map<_, _>>()},
        })
    }
}

async fn measure_window(env: &Env, client: &Client, operator: &RunningOperator, secs: u64) -> Result<Window, String> {
    let before = env.operator_metrics(operator).await?;
    let apiserver_before = ApiServerCounters::parse(&apiserver_metrics(client).await?);
    env.reset_sim_stats().await?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let stats = env.sim_stats().await?;
    let after = env.operator_metrics(operator).await?;
    let apiserver_after = ApiServerCounters::parse(&apiserver_metrics(client).await?);
    let mut window = Window {
        secs: started.elapsed().as_secs_f64(),
        writes: writes_of(&stats),
        apiserver: ApiServerCost::new(apiserver_after.since(&apiserver_before), &[]),
        ..Window::default()
    };
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
async fn settle(env: &Env, operator: &RunningOperator) -> Result<(), String> {
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
    let per = |v: f64| v / r.objects.max(1) as f64;
    let api = &r.converge_apiserver;
    let rows: Vec<(String, String, String, &str)> = vec![
        ("control plane start".into(), format!("{:.1} s", r.control_plane_start_secs), String::new(), ""),
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
        ("converge ZPA reads / PUTs".into(), format!("{} / {}", r.converge_reads, r.converge_puts), String::new(), ""),
        (
            "converge reconciles / status writes".into(),
            format!(
                "{} / {} ({:.2} status writes per object)",
                r.converge_reconciles,
                r.converge_status_writes,
                per(r.converge_status_writes as f64)
            ),
            String::new(),
            "",
        ),
        ("operator CPU per converged object".into(), format!("{:.2} ms", r.cpu_ms_per_object()), String::new(), ""),
        (
            "API server per object: operator writes / reads".into(),
            format!("{:.2} / {:.2}", per(api.writes), per(api.reads)),
            String::new(),
            "",
        ),
        (
            "API server per object: watch events / etcd writes".into(),
            format!("{:.2} / {:.2}", per(api.watch_events_total), per(api.etcd_writes)),
            String::new(),
            "",
        ),
        (
            "first resync after converge".into(),
            format!(
                "{} ZPA reads, {} ZPA writes, {} status writes",
                r.first_resync.reads_microtenants + r.first_resync.reads_profiles + r.first_resync.reads_other,
                r.first_resync.writes,
                r.first_resync.status_writes
            ),
            "status writes 0".into(),
            ok(r.first_resync.status_writes == 0),
        ),
        (
            "second resync".into(),
            format!("{} ZPA writes, {} status writes", r.second_resync.writes, r.second_resync.status_writes),
            String::new(),
            "",
        ),
        (
            format!("steady writes per resync ({} s)", r.resync_secs),
            format!("{} ZPA, {} API server", r.steady.writes, r.steady.apiserver.writes),
            "0".into(),
            ok(r.steady.writes == 0 && r.steady.apiserver.writes == 0.0),
        ),
        (
            "steady reads: Microtenant".into(),
            format!("{} (per-object: {})", r.steady.reads_microtenants, r.microtenants),
            format!("<= {}", r.steady_reads_limit),
            ok(r.steady.reads_microtenants <= r.steady_reads_limit),
        ),
        (
            "steady reads: IsolationProfile".into(),
            format!("{} (per-object: {})", r.steady.reads_profiles, r.profiles),
            format!("<= {}", r.steady_reads_limit),
            ok(r.steady.reads_profiles <= r.steady_reads_limit),
        ),
        ("steady reads: other (/me, ...)".into(), r.steady.reads_other.to_string(), String::new(), ""),
        (
            "steady reconciles / status writes".into(),
            format!("{} / {}", r.steady.reconciles, r.steady.status_writes),
            "status writes 0".into(),
            ok(r.steady.status_writes == 0),
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
        (
            "start-up to /readyz".into(),
            format!("{:.0} ms ({:.2} s CPU)", r.startup_ms, r.startup_cpu_secs),
            String::new(),
            "",
        ),
        (
            "CPU until the restart: operator / sim".into(),
            format!("{:.1} / {:.1} s", r.cpu.operator, r.cpu.simulator),
            String::new(),
            "",
        ),
        (
            "CPU: kube-apiserver / etcd / kcm".into(),
            format!(
                "{:.1} / {:.1} / {:.1} s (RSS {:.0} / {:.0} MiB)",
                r.cpu.plane("kube-apiserver"),
                r.cpu.plane("etcd"),
                r.cpu.plane("kube-controller-manager"),
                r.apiserver_rss_mib,
                r.etcd_rss_mib
            ),
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
        "{:>6}  {:>11}  {:>8}  {:>6}  {:>5}  {:>8}  {:>8}  {:>7}  {:>7}  {:>13}  {:>8}  {:>7}  {:>9}",
        "N",
        "limits W/G",
        "converge",
        "ratio",
        "429s",
        "st.wr/o",
        "1st rs",
        "p50 ms",
        "p99 ms",
        "RSS MiB c/r",
        "start ms",
        "CPU ms/o",
        "api rq/o"
    );
    for r in results {
        let per = |v: f64| v / r.objects.max(1) as f64;
        println!(
            "{:>6}  {:>11}  {:>7.1}s  {:>6.3}  {:>5}  {:>8.2}  {:>8}  {:>7.1}  {:>7.1}  {:>13}  {:>8.0}  {:>7.2}  {:>9.2}",
            r.objects,
            format!("{}/{}", r.write_limit, r.get_limit),
            r.converge_secs,
            r.converge_ratio,
            r.too_many_requests,
            per(r.converge_status_writes as f64),
            r.first_resync.status_writes,
            r.reaction_p50_ms,
            r.reaction_p99_ms,
            format!("{:.1}/{:.1}", r.peak_rss_mib, r.restart_peak_rss_mib),
            r.startup_ms,
            r.cpu_ms_per_object(),
            per(r.converge_apiserver.writes + r.converge_apiserver.reads)
        );
    }
}
