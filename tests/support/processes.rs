//! The end-to-end world as processes: the Kubernetes API stand-in binary,
//! the ZPA simulator and the operator (both the real `zpa-operator`
//! binary), and the real `kubectl`, all over HTTP on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::eventually;

/// A child process killed when dropped.
pub struct Process {
    child: Child,
}

impl Process {
    /// Spawns `command` and waits for a stdout line containing `marker`;
    /// returns the `http://...` URL on that line.
    fn spawn_listening(mut command: Command, marker: &str) -> (Self, String) {
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

/// Where cargo put the workspace's binaries (the test binary lives in `deps/` below it).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf()
}

fn standin_binary() -> PathBuf {
    let path = target_dir().join("kube-standin");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo nextest run --workspace` (or `cargo build -p kube-standin`) so the stand-in is built",
        path.display()
    );
    path
}

pub fn operator_binary() -> &'static str {
    env!("CARGO_BIN_EXE_zpa-operator")
}

enum LogLevel<'a> {
    Flag(&'a str),
    Env(&'a str),
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub sim_url: String,
    _standin: Process,
    _sim: Process,
    operator: Option<Operator>,
    resync: String,
}

impl World {
    /// The stand-in and the simulator (rate limits on, as ZPA), CRDs applied with kubectl.
    pub fn start(resync: &str) -> Self {
        Self::start_with(resync, &[])
    }

    /// Like [`World::start`], with extra `zpa-operator simulator` flags (rate limits, faults).
    pub fn start_with(resync: &str, simulator_args: &[&str]) -> Self {
        assert!(
            Command::new("kubectl").arg("version").arg("--client").output().is_ok(),
            "kubectl is not on PATH (CI installs it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        let mut standin = Command::new(standin_binary());
        standin.args(["--listen", "127.0.0.1:0", "--kubeconfig"]).arg(&kubeconfig);
        let (standin, _) = Process::spawn_listening(standin, "kube-standin listening on");
        let mut sim = Command::new(operator_binary());
        sim.args(["simulator", "--listen", "127.0.0.1:0"]).args(simulator_args);
        let (sim, sim_url) = Process::spawn_listening(sim, "zpa simulator listening on");
        let world =
            Self { dir, kubeconfig, sim_url, _standin: standin, _sim: sim, operator: None, resync: resync.to_owned() };
        let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
        world.kubectl_ok(&["apply", "-f", crds.to_str().unwrap()]);
        world
    }

    /// Starts (or restarts) the operator process.
    pub fn start_operator(&mut self) {
        self.stop_operator();
        self.operator = Some(self.spawn_operator("operator", &[]));
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
        let log_path = self.dir.path().join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
        let mut command = Command::new(operator_binary());
        command.args(["run", "--metrics-listen", "127.0.0.1:0", "--resync-interval", &self.resync]);
        match level {
            LogLevel::Flag(level) => command.args(["--log-level", level]),
            LogLevel::Env(level) => command.env("ZPA_OPERATOR_LOG_LEVEL", level).env_remove("RUST_LOG"),
        };
        let child = command
            .args(extra_args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("POD_NAME", name)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("operator starts");
        Operator { child, name: name.to_owned(), log_path }
    }

    /// The Lease `name` in namespace `default`, if it exists.
    pub fn lease(&self, name: &str) -> Option<Value> {
        let output = self.kubectl(&["get", "lease", name, "-n", "default", "-o", "json"]);
        output.status.success().then(|| serde_json::from_slice(&output.stdout).expect("kubectl JSON"))
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl").args(args).env("KUBECONFIG", &self.kubeconfig).output().expect("kubectl runs")
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `kubectl apply -f` of a manifest text (written to a file first).
    pub fn apply(&self, name: &str, manifest: &str) -> Output {
        let path = self.dir.path().join(name);
        std::fs::write(&path, manifest).expect("write manifest");
        self.kubectl(&["apply", "-f", path.to_str().unwrap()])
    }

    /// The examples, with the provider config pointed at this world's simulator.
    pub fn apply_examples(&self) {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let copy = self.dir.path().join("examples");
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(examples).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap().replace("http://127.0.0.1:8085", &self.sim_url);
            std::fs::write(copy.join(path.file_name().unwrap()), text).unwrap();
        }
        self.kubectl_ok(&["apply", "-f", copy.to_str().unwrap()]);
    }

    /// Only the provider config (and its Secret) of the examples, pointed at this world's simulator.
    pub fn apply_provider_config(&self) {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join("00-provider-config.yaml");
        let text = std::fs::read_to_string(example).unwrap().replace("http://127.0.0.1:8085", &self.sim_url);
        let output = self.apply("provider-config.yaml", &text);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }

    pub fn get_json(&self, kind: &str, name: &str) -> Option<Value> {
        let output = self.kubectl(&["get", kind, name, "-n", "default", "-o", "json"]);
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
        text.lines()
            .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
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
