//! The end-to-end world as processes: the real Kubernetes control plane of
//! this test binary (see `controlplane.rs`), the ZPA simulator and the
//! operator (both the real `zpa-operator` binary), and the Go-built
//! `kubectl`, all on 127.0.0.1. The benchmark (`examples/converge.rs`)
//! starts its processes with the same helpers, and reads their CPU time and
//! memory with [`cpu_secs`] and [`memory_kib`].

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

use super::cluster::TEST_LABEL;
use super::controlplane::{ControlPlane, kubectl_with, unique_name};
use super::eventually;

/// A child process killed when dropped.
pub struct Process {
    child: Child,
}

impl Process {
    /// Spawns `command` and waits for a stdout line containing `marker`;
    /// returns the `http://...` URL on that line.
    pub fn spawn_listening(mut command: Command, marker: &str) -> (Self, String) {
        command.stdout(Stdio::piped()).stdin(Stdio::null());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("{command:?} exited before printing {marker:?}"))
                .expect("read stdout");
            if line.contains(marker) {
                let start = line.find("http://").expect("a URL on the listening line");
                break line[start..].split_whitespace().next().unwrap_or_default().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (Self { child }, url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `zpa-operator simulator` process listening on `listen` (`127.0.0.1:0`
/// for a free port) with `args`; its base URL.
pub fn start_simulator(listen: &str, args: &[&str]) -> (Process, String) {
    let mut command = Command::new(operator_binary());
    command.args(["simulator", "--listen", listen]).args(args);
    Process::spawn_listening(command, "zpa simulator listening on")
}

/// The `zpa-operator` binary cargo built for this test, or, in an example
/// (cargo names binaries only to tests), the one next to the example's
/// directory (`target/<profile>/examples/NAME` -> `target/<profile>/zpa-operator`).
pub fn operator_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| match option_env!("CARGO_BIN_EXE_zpa-operator") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("this binary's path");
            exe.ancestors().nth(2).expect("target/<profile>/examples/<binary>").join("zpa-operator")
        }
    })
}

/// Peak (`VmHWM`) and current (`VmRSS`) resident memory of a process, in KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its `)` are fixed.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // In clock ticks of USER_HZ, 100 per second on Linux.
    Some(ticks / 100.0)
}

enum LogLevel<'a> {
    Flag(&'a str),
    Env(&'a str),
}

/// One test's world of processes on the shared control plane: a namespace
/// for its custom resources and one for its credentials, a ZpaProviderConfig
/// only its operators select, a simulator process, and operator processes.
pub struct World {
    pub plane: &'static ControlPlane,
    pub dir: tempfile::TempDir,
    /// The admin's kubeconfig, its context's namespace set to [`World::namespace`].
    pub kubeconfig: PathBuf,
    /// What operator processes authenticate with (the admin's unless a test
    /// runs them as a ServiceAccount, see [`World::run_operators_as`]).
    operator_kubeconfig: PathBuf,
    pub namespace: String,
    pub system_namespace: String,
    pub provider_config: String,
    pub sim_url: String,
    _sim: Process,
    operator: Option<Operator>,
    resync: String,
    watch_namespaces: Vec<String>,
}

impl World {
    /// The simulator (rate limits on, as ZPA) and this test's namespaces.
    pub fn start(resync: &str) -> Self {
        Self::start_with(resync, &[])
    }

    /// Like [`World::start`], with extra `zpa-operator simulator` flags (rate limits, faults).
    pub fn start_with(resync: &str, simulator_args: &[&str]) -> Self {
        Self::start_on(ControlPlane::shared(), resync, simulator_args)
    }

    /// Like [`World::start_with`], on `plane` (a dedicated one, CRDs installed).
    pub fn start_on(plane: &'static ControlPlane, resync: &str, simulator_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let namespace = unique_name("w");
        let system_namespace = format!("{namespace}-system");
        let kubeconfig = dir.path().join("kubeconfig");
        let admin = std::fs::read_to_string(plane.admin_kubeconfig()).expect("admin kubeconfig");
        let scoped = admin.replace("    user: admin\n", &format!("    user: admin\n    namespace: {namespace}\n"));
        std::fs::write(&kubeconfig, scoped).expect("write kubeconfig");
        let (sim, sim_url) = start_simulator("127.0.0.1:0", simulator_args);
        let world = Self {
            plane,
            operator_kubeconfig: kubeconfig.clone(),
            kubeconfig,
            dir,
            provider_config: namespace.clone(),
            watch_namespaces: vec![namespace.clone(), system_namespace.clone()],
            namespace,
            system_namespace,
            sim_url,
            _sim: sim,
            operator: None,
            resync: resync.to_owned(),
        };
        world.kubectl_ok(&["create", "namespace", &world.namespace]);
        world.kubectl_ok(&["create", "namespace", &world.system_namespace]);
        assert_eq!(
            world.kubectl_ok(&["config", "view", "--minify", "-o", "jsonpath={.contexts[0].context.namespace}"]),
            world.namespace,
            "kubectl defaults to this test's namespace"
        );
        world
    }

    /// Operator processes started from now on authenticate with `kubeconfig`
    /// (a ServiceAccount token's) and watch `namespaces` (empty: all).
    pub fn run_operators_as(&mut self, kubeconfig: PathBuf, namespaces: Vec<String>) {
        self.operator_kubeconfig = kubeconfig;
        self.watch_namespaces = namespaces;
    }

    /// Starts (or restarts) the operator process.
    pub fn start_operator(&mut self) {
        self.start_operator_with(&[]);
    }

    /// Starts (or restarts) the operator process with `extra_args`.
    pub fn start_operator_with(&mut self, extra_args: &[&str]) {
        self.stop_operator();
        self.operator = Some(self.spawn_operator("operator", extra_args));
    }

    /// Kills the operator at once (SIGKILL), as a crash would.
    pub fn stop_operator(&mut self) {
        if let Some(mut operator) = self.operator.take() {
            operator.kill();
        }
    }

    /// Every run of the operator started by [`World::start_operator`], in order.
    pub fn operator_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("operator.log")).unwrap_or_default()
    }

    /// An operator process named `name` (its `POD_NAME`, so its Lease identity),
    /// its log appended to `<name>.log`, with `extra_args` after the usual ones.
    pub fn spawn_operator(&self, name: &str, extra_args: &[&str]) -> Operator {
        self.spawn_operator_logging(name, extra_args, LogLevel::Flag("info,zpa_operator=debug"))
    }

    /// Starts (or restarts) the operator with its log level from
    /// `ZPA_OPERATOR_LOG_LEVEL` (as a deployment sets it); returns the `/metrics` URL.
    pub async fn start_operator_at_log_level(&mut self, level: &str) -> String {
        self.stop_operator();
        let operator = self.spawn_operator_logging("operator", &[], LogLevel::Env(level));
        let url = format!("{}/metrics", operator.endpoint().await);
        self.operator = Some(operator);
        url
    }

    fn spawn_operator_logging(&self, name: &str, extra_args: &[&str], level: LogLevel<'_>) -> Operator {
        let mut command = Command::new(operator_binary());
        command.args(["run", "--metrics-listen", "127.0.0.1:0", "--resync-interval", &self.resync]);
        command.arg(format!("--provider-config-selector={TEST_LABEL}={}", self.namespace));
        if !self.watch_namespaces.is_empty() {
            command.arg(format!("--watch-namespaces={}", self.watch_namespaces.join(",")));
        }
        match level {
            LogLevel::Flag(level) => command.args(["--log-level", level]),
            LogLevel::Env(level) => command.env("ZPA_OPERATOR_LOG_LEVEL", level).env_remove("RUST_LOG"),
        };
        command
            .args(extra_args)
            .env("KUBECONFIG", &self.operator_kubeconfig)
            .env("POD_NAME", name)
            .env("POD_NAMESPACE", &self.namespace);
        Operator::spawn(name, command, self.dir.path().join(format!("{name}.log")))
    }

    /// The Lease `name` in this test's namespace, if it exists.
    pub fn lease(&self, name: &str) -> Option<Value> {
        let output = self.kubectl(&["get", "lease", name, "-o", "json"]);
        output.status.success().then(|| serde_json::from_slice(&output.stdout).expect("kubectl JSON"))
    }

    /// The Go-built kubectl as the admin, in this test's namespace by default.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_with(&self.kubeconfig, args, None)
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `kubectl apply -f` of a manifest text, made this test's first (see
    /// [`World::localize`]) and written to a file.
    pub fn apply(&self, name: &str, manifest: &str) -> Output {
        let mut documents = yaml_documents(manifest);
        documents.iter_mut().for_each(|doc| self.localize(doc));
        let path = self.write_documents(name, &documents);
        self.kubectl(&["apply", "-f", &path])
    }

    /// A managed object without a namespace (or in `default`) goes to this
    /// test's namespace; without a provider config reference it uses this test's.
    /// A provider config without labels gets this test's, so that only this
    /// test's operators select it (its name must be the test's own).
    pub fn localize(&self, doc: &mut Value) {
        if doc["kind"] == "ZpaProviderConfig" && doc["metadata"]["labels"].is_null() {
            doc["metadata"]["labels"] = json!({TEST_LABEL: self.namespace});
        }
        if matches!(doc["kind"].as_str(), Some("Microtenant" | "IsolationProfile")) {
            if doc["metadata"]["namespace"].as_str().is_none_or(|ns| ns == "default") {
                doc["metadata"]["namespace"] = json!(self.namespace);
            }
            if doc["spec"].is_object() && doc["spec"]["providerConfigRef"].is_null() {
                doc["spec"]["providerConfigRef"] = json!({"name": self.provider_config});
            }
        }
    }

    /// The examples, made this test's: its namespaces, its provider config
    /// (pointed at this world's simulator) referenced by every managed object.
    pub fn apply_examples(&self) {
        let documents = self.examples_as_this_tests(None);
        self.kubectl_ok(&["apply", "-f", self.write_documents("examples.yaml", &documents).as_str()]);
    }

    /// Only the provider config (and its Secret) of the examples.
    pub fn apply_provider_config(&self) {
        let documents = self.examples_as_this_tests(Some("00-provider-config.yaml"));
        self.kubectl_ok(&["apply", "-f", self.write_documents("provider-config.yaml", &documents).as_str()]);
    }

    fn write_documents(&self, name: &str, documents: &[Value]) -> String {
        let path = self.dir.path().join(name);
        let text: Vec<String> = documents.iter().map(|d| serde_json::to_string(d).expect("JSON")).collect();
        std::fs::write(&path, text.join("\n---\n")).expect("write manifests");
        path.to_str().expect("a UTF-8 path").to_owned()
    }

    /// The documents of `examples/` (or of one file there), rewritten for this test.
    fn examples_as_this_tests(&self, only: Option<&str>) -> Vec<Value> {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
            .expect("examples/")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
            .filter(|path| only.is_none_or(|name| path.file_name().is_some_and(|f| f == name)))
            .collect();
        files.sort();
        let mut documents = Vec::new();
        for file in files {
            for mut doc in yaml_documents(&std::fs::read_to_string(&file).expect("read example")) {
                self.make_this_tests(&mut doc);
                if !doc.is_null() {
                    documents.push(doc);
                }
            }
        }
        documents
    }

    fn make_this_tests(&self, doc: &mut Value) {
        match doc["kind"].as_str().unwrap_or_default() {
            // This test's namespaces exist already.
            "" | "Namespace" => *doc = Value::Null,
            "ZpaProviderConfig" => {
                doc["metadata"]["name"] = json!(self.provider_config);
                doc["metadata"]["labels"] = json!({TEST_LABEL: self.namespace});
                doc["spec"]["baseUrl"] = json!(self.sim_url);
                doc["spec"]["credentialsSecretRef"]["namespace"] = json!(self.system_namespace);
            }
            "Secret" if doc["metadata"]["namespace"] == "zpa-system" => {
                doc["metadata"]["namespace"] = json!(self.system_namespace);
            }
            "Microtenant" | "IsolationProfile" => self.localize(doc),
            _ => doc["metadata"]["namespace"] = json!(self.namespace),
        }
    }

    pub fn get_json(&self, kind: &str, name: &str) -> Option<Value> {
        let output = self.kubectl(&["get", kind, name, "-o", "json"]);
        output.status.success().then(|| serde_json::from_slice(&output.stdout).expect("kubectl JSON"))
    }

    /// Polls `kubectl get -o json` until `check` holds.
    pub async fn wait_for(&self, kind: &str, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut last = Value::Null;
        loop {
            if let Some(object) = self.get_json(kind, name) {
                if check(&object) {
                    return object;
                }
                last = object;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {kind}/{name}: {what}\nlast seen: {last:#}\noperator log tail:\n{}",
                    tail(&self.operator_log(), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_ready(&self, kind: &str, name: &str) -> Value {
        self.wait_for(kind, name, "Ready and Synced", |o| {
            has_condition(o, "Ready", "True", None)
                && has_condition(o, "Synced", "True", None)
                && o["status"]["observedGeneration"] == o["metadata"]["generation"]
        })
        .await
    }

    pub async fn wait_gone(&self, kind: &str, name: &str) {
        eventually(&format!("{kind}/{name} gone"), Duration::from_secs(60), || async {
            self.get_json(kind, name).is_none().then_some(())
        })
        .await;
    }

    pub async fn sim(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.sim_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("simulator admin call");
        assert!(response.status().is_success(), "simulator {path}: {}", response.status());
        response.json().await.unwrap_or(Value::Null)
    }

    pub async fn remote_state(&self) -> Value {
        self.sim(reqwest::Method::GET, "/__sim/customers/72057594037927936/state", None).await
    }

    pub async fn route_count(&self, route: &str) -> u64 {
        self.sim(reqwest::Method::GET, "/__sim/stats", None).await["byRoute"][route].as_u64().unwrap_or(0)
    }
}

/// One operator process (of possibly several replicas), killed when dropped.
pub struct Operator {
    child: Child,
    pub name: String,
    log_path: PathBuf,
}

impl Operator {
    /// Starts `command` (a `zpa-operator run` the caller put together) as
    /// `name`, its log appended to `log_path`.
    pub fn spawn(name: &str, mut command: Command, log_path: PathBuf) -> Self {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
        let child = command
            .env("NO_COLOR", "1")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("operator starts");
        Self { child, name: name.to_owned(), log_path }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT` of /metrics, /healthz and /readyz, once logged.
    pub async fn endpoint(&self) -> String {
        eventually(&format!("{} serves /metrics", self.name), Duration::from_secs(30), || async {
            let log = self.log();
            let line = log.lines().rev().find(|l| l.contains("serving /metrics"))?;
            let at = line.find("127.0.0.1:")?;
            let port: String = line[at + 10..].chars().take_while(char::is_ascii_digit).collect();
            (!port.is_empty()).then(|| format!("http://127.0.0.1:{port}"))
        })
        .await
    }

    /// `GET path` on the operator's HTTP endpoint: status and body.
    pub async fn http_get(&self, path: &str) -> (u16, String) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = format!("{}{path}", self.endpoint().await);
        let response = reqwest::get(&url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }

    /// The sum of a metric's samples, e.g. `zpa_operator_reconciles_total`.
    pub async fn metric_sum(&self, metric: &str) -> f64 {
        let (_, text) = self.http_get("/metrics").await;
        super::metric_sum(&text, metric, "")
    }

    /// Sends a signal by name (`TERM`, `INT`) with `kill -s`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args(["-s", signal, &self.pid().to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill -s {signal} {}", self.pid());
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait on the operator")
    }

    /// Waits up to `within` for the process to exit.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not exit within {within:?}; log tail:\n{}",
                self.name,
                tail(&self.log(), 30)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The documents of a YAML stream (empty ones left out).
pub fn yaml_documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text).expect("YAML").into_iter().filter(|doc| !doc.is_null()).collect()
}

pub fn has_condition(object: &Value, type_: &str, status: &str, reason: Option<&str>) -> bool {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == type_ && c["status"] == status && reason.is_none_or(|r| c["reason"] == r))
}

pub fn condition_message(object: &Value, type_: &str) -> String {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
