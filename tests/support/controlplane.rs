//! The real Kubernetes control plane every cluster test runs on: etcd,
//! kube-apiserver and kube-controller-manager, built from the Go modules of
//! `tests/controlplane/` (by its `build.sh`, cached under `target/`), with
//! RBAC on and client certificates for the admin.
//!
//! One control plane serves all tests of a test binary. cargo-nextest runs
//! each test in a process of its own, so the plane is shared across
//! processes: the first test to need it starts it under a lock and writes
//! its state file; later tests find the file and attach. A watchdog shell
//! started with the plane kills it when the test run ends, or when no test
//! of the binary has used it for a while (so that one idle plane per test
//! binary does not pile up over a whole run). Tests isolate themselves with
//! namespaces and cluster-scoped names of their own (see [`unique_name`]).
//!
//! A test that restarts the API server or compacts etcd takes a
//! [`ControlPlane::dedicated`] one instead, killed when dropped.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};

use super::tools::fail_with_one_line;

/// The Kubernetes version of `tests/controlplane/go.mod`.
pub const KUBERNETES_VERSION: &str = "v1.37.2";

/// How long a shared plane may sit unused before its watchdog stops it.
const IDLE_SECONDS: u32 = 20;

/// Where the binaries of `tests/controlplane/` are, building them first when
/// their cache is missing. Panics with one line saying what to install when
/// Go is not there.
pub fn tools_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = repo_root().join("tests/controlplane/build.sh");
        let output = Command::new("bash")
            .arg(&script)
            .env("CARGO_TARGET_DIR", target_root())
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        if output.status.code() == Some(127) {
            fail_with_one_line(
                "Go is not installed: install Go 1.26 (https://go.dev/dl/) so the tests can build kube-apiserver, etcd and kube-controller-manager",
            );
        }
        assert!(output.status.success(), "{} failed ({}); see its output above", script.display(), output.status);
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
}

/// One of the Go-built tools (`kubectl`, `etcdctl`, ...).
pub fn tool(name: &str) -> PathBuf {
    let path = tools_dir().join(name);
    assert!(path.exists(), "{} is missing from the tool build", path.display());
    path
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// cargo's target directory (the test binary is `<target>/<profile>/deps/<name>`).
pub fn target_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target/<profile>/deps/<binary>").to_path_buf()
}

/// A name no other test of this run uses: `prefix` plus a short random suffix.
/// Cluster-scoped objects and namespaces of a test carry one.
pub fn unique_name(prefix: &str) -> String {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    format!("{prefix}-{suffix}")
}

/// What a running plane left for the next test process to attach to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    server: String,
    etcd: String,
    pids: Vec<u32>,
    started_in: Duration,
}

/// A running control plane.
pub struct ControlPlane {
    /// Holds `pki/`, `admin.kubeconfig`, the etcd data and the components' logs.
    pub dir: PathBuf,
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// etcd's client URL, `http://127.0.0.1:PORT`.
    pub etcd: String,
    /// How long the start took, from the first process to `/readyz`.
    pub started_in: Duration,
    /// Only a dedicated plane owns its processes.
    owned: Option<Mutex<Processes>>,
}

impl ControlPlane {
    /// The plane this test binary shares (started on first use).
    pub fn shared() -> &'static ControlPlane {
        static SHARED: OnceLock<ControlPlane> = OnceLock::new();
        SHARED.get_or_init(|| {
            let plane = attach_or_start();
            install_log_dump_on_panic(&plane.dir);
            plane
        })
    }

    /// A plane of this test's own, for what would disturb other tests: a
    /// restarted API server, compacted etcd, CRDs installed by Helm, an
    /// operator watching every namespace. Its watchdog stops it when this
    /// test's process exits (nextest runs each test in a process of its own).
    pub fn dedicated() -> &'static ControlPlane {
        Box::leak(Box::new(Self::start_dedicated()))
    }

    fn start_dedicated() -> ControlPlane {
        let dir = target_root().join("controlplane-runs").join(unique_name(&format!("dedicated-{}", binary_name())));
        fs::create_dir_all(&dir).expect("control plane dir");
        let (state, processes) = start_with_retries(&dir, std::process::id(), None);
        install_log_dump_on_panic(&dir);
        ControlPlane {
            dir,
            server: state.server,
            etcd: state.etcd,
            started_in: state.started_in,
            owned: Some(Mutex::new(processes)),
        }
    }

    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// A kube client with the admin's client certificate (`system:masters`).
    pub async fn admin_client(&self) -> kube::Client {
        client_from_kubeconfig(&self.admin_kubeconfig()).await
    }

    /// The Go-built kubectl of the same Kubernetes version, as the admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_with(&self.admin_kubeconfig(), args, None)
    }

    /// Like [`ControlPlane::kubectl`], failing the test on a non-zero exit.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Installs the operator's CRDs from `crds/` and waits until they are
    /// served (a shared plane has them from its start).
    pub fn install_crds(&self) {
        install_crds(&self.admin_kubeconfig());
    }

    /// The CA that signed the API server's certificate (PEM).
    pub fn ca_pem(&self) -> String {
        fs::read_to_string(self.dir.join("pki/ca.crt")).expect("ca.crt")
    }

    /// The last lines of each component's log.
    pub fn logs_tail(&self, lines: usize) -> String {
        logs_tail(&self.dir, lines)
    }

    /// Stops kube-apiserver (SIGKILL) and starts it again on the same port
    /// and etcd; returns once `/readyz` answers. Dedicated planes only.
    pub fn restart_apiserver(&self) -> Duration {
        let mut processes = self
            .owned
            .as_ref()
            .expect("only a dedicated plane restarts its API server")
            .lock()
            .expect("the processes lock");
        let _ = processes.apiserver.kill();
        let _ = processes.apiserver.wait();
        let started = Instant::now();
        let port: u16 = self.server.rsplit(':').next().and_then(|p| p.parse().ok()).expect("server port");
        processes.apiserver = spawn_apiserver(&self.dir, &self.etcd, port);
        write_pids(&self.dir, &[processes.etcd.id(), processes.apiserver.id(), processes.controller_manager.id()]);
        wait_ready(&self.dir, &self.server, Duration::from_secs(90), &mut processes.apiserver)
            .unwrap_or_else(|e| panic!("kube-apiserver did not come back: {e}\n{}", logs_tail(&self.dir, 40)));
        started.elapsed()
    }

    /// The components' processes by name (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`), for their CPU time and memory.
    pub fn component_pids(&self) -> Vec<(&'static str, u32)> {
        let pids = fs::read_to_string(self.dir.join("pids")).unwrap_or_default();
        ["etcd", "kube-apiserver", "kube-controller-manager"]
            .into_iter()
            .zip(pids.split_whitespace().filter_map(|p| p.parse().ok()))
            .collect()
    }

    /// Stops a dedicated plane now (instead of when this process exits) and
    /// removes its directory with the etcd data: for a process that starts
    /// one plane after another, such as the benchmark's `--scaling` run.
    pub fn stop(&self) {
        let mut processes =
            self.owned.as_ref().expect("only a dedicated plane is stopped").lock().expect("the processes lock");
        processes.kill_all();
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// `etcdctl compact` at etcd's current revision: every watch from an
    /// older resourceVersion now ends in 410 Gone.
    pub fn compact_etcd(&self) -> u64 {
        let status = Command::new(tool("etcdctl"))
            .args(["--endpoints", &self.etcd, "endpoint", "status", "--write-out", "json"])
            .output()
            .expect("etcdctl runs");
        assert!(status.status.success(), "etcdctl endpoint status: {}", String::from_utf8_lossy(&status.stderr));
        let parsed: serde_json::Value = serde_json::from_slice(&status.stdout).expect("etcdctl JSON");
        let revision = parsed[0]["Status"]["header"]["revision"].as_u64().expect("a revision");
        let compact = Command::new(tool("etcdctl"))
            .args(["--endpoints", &self.etcd, "compact", &revision.to_string(), "--physical"])
            .output()
            .expect("etcdctl runs");
        assert!(compact.status.success(), "etcdctl compact: {}", String::from_utf8_lossy(&compact.stderr));
        revision
    }
}

fn install_crds(kubeconfig: &Path) {
    let crds = repo_root().join("crds");
    let crds = crds.to_str().expect("a UTF-8 path");
    for args in [
        vec!["apply", "--server-side", "--field-manager=test-harness", "-f", crds],
        vec!["wait", "--for=condition=Established", "-f", crds, "--timeout=60s"],
    ] {
        let output = kubectl_with(kubeconfig, &args, None);
        assert!(output.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

/// A kube client from a kubeconfig file (client certificate or token).
pub async fn client_from_kubeconfig(path: &Path) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = kube::config::Kubeconfig::read_from(path).expect("kubeconfig reads");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .expect("kubeconfig is valid");
    kube::Client::try_from(config).expect("kube client builds")
}

/// The Go-built kubectl with `kubeconfig`, optionally fed `stdin`.
pub fn kubectl_with(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(tool("kubectl"));
    command.args(args).env("KUBECONFIG", kubeconfig).env_remove("KUBERNETES_SERVICE_HOST");
    let Some(input) = stdin else {
        return command.stdin(Stdio::null()).output().expect("kubectl runs");
    };
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("kubectl runs");
    child.stdin.take().expect("piped stdin").write_all(input.as_bytes()).expect("kubectl stdin");
    child.wait_with_output().expect("kubectl output")
}

/// The test binary's name without cargo's hash suffix (`e2e-0123abcd` -> `e2e`).
fn binary_name() -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let stem = exe.file_stem().and_then(|s| s.to_str()).unwrap_or("tests").to_owned();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
        _ => stem,
    }
}

/// The process whose end ends the plane: the nextest runner when nextest
/// runs this test (each test is a child process of it), else this process.
fn owner_pid() -> u32 {
    if std::env::var_os("NEXTEST").is_some() {
        let stat = fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        // The command name may hold spaces; the fields after its `)` are fixed.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            return ppid;
        }
    }
    std::process::id()
}

fn attach_or_start() -> ControlPlane {
    let owner = owner_pid();
    let dir = target_root().join("controlplane-runs").join(format!("{}-{owner}", binary_name()));
    fs::create_dir_all(&dir).expect("control plane dir");
    let lock = File::create(dir.join(".lock")).expect("lock file");
    lock.lock().expect("lock the control plane dir");
    let state_path = dir.join("state.json");
    let existing = fs::read(&state_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<State>(&bytes).ok())
        .filter(|state| state.pids.iter().all(|pid| Path::new(&format!("/proc/{pid}")).exists()));
    let state = match existing {
        Some(state) => state,
        None => {
            let (state, processes) = start_with_retries(&dir, owner, Some(IDLE_SECONDS));
            // The watchdog owns them from here on.
            std::mem::forget(processes);
            install_crds(&dir.join("admin.kubeconfig"));
            fs::write(&state_path, serde_json::to_vec(&state).expect("state JSON")).expect("write state");
            state
        }
    };
    // A shared lock on `users` for as long as this process lives tells the
    // watchdog that the plane is in use.
    static USER: OnceLock<File> = OnceLock::new();
    let user = File::create(dir.join("users")).expect("users file");
    user.lock_shared().expect("register as a user");
    let _ = USER.set(user);
    drop(lock);
    ControlPlane { dir, server: state.server, etcd: state.etcd, started_in: state.started_in, owned: None }
}

/// The components' processes, killed when dropped.
struct Processes {
    etcd: Child,
    apiserver: Child,
    controller_manager: Child,
    _watchdog: Child,
}

impl Processes {
    /// The watchdog first, so it never signals pids the system may reuse.
    fn kill_all(&mut self) {
        for child in [&mut self._watchdog, &mut self.controller_manager, &mut self.apiserver, &mut self.etcd] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in [&mut self.controller_manager, &mut self.apiserver, &mut self.etcd] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts etcd, kube-apiserver and kube-controller-manager; a port taken
/// between choosing it and binding it is the one failure worth retrying.
fn start_with_retries(dir: &Path, owner: u32, idle: Option<u32>) -> (State, Processes) {
    let mut last = String::new();
    for _ in 0..3 {
        match start(dir, owner, idle) {
            Ok(started) => return started,
            Err(error) => last = error,
        }
    }
    panic!("the control plane did not start: {last}\n{}", logs_tail(dir, 60));
}

fn start(dir: &Path, owner: u32, idle: Option<u32>) -> Result<(State, Processes), String> {
    let tools = tools_dir().to_path_buf();
    let started = Instant::now();
    let pki = write_pki(dir);
    let data = dir.join("etcd-data");
    let _ = fs::remove_dir_all(&data);
    let (client_port, peer_port, api_port) = (free_port(), free_port(), free_port());
    let etcd_url = format!("http://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut etcd = Command::new(tools.join("etcd"));
    etcd.args(["--name", "test", "--data-dir"])
        .arg(&data)
        .args(["--listen-client-urls", &etcd_url, "--advertise-client-urls", &etcd_url])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("test={peer_url}"), "--unsafe-no-fsync", "--log-level", "warn"]);
    let mut etcd = Killed(Some(spawn_logged(etcd, &dir.join("etcd.log"))));
    wait_until(Duration::from_secs(30), || etcd_healthy(client_port))
        .map_err(|_| format!("etcd did not become healthy ({})", exit_note(etcd.child())))?;
    let server = format!("https://127.0.0.1:{api_port}");
    write_kubeconfig(&dir.join("admin.kubeconfig"), &server, &pki.ca_pem, &pki.admin_cert, &pki.admin_key);
    let mut apiserver = Killed(Some(spawn_apiserver(dir, &etcd_url, api_port)));
    wait_ready(dir, &server, Duration::from_secs(90), apiserver.child())
        .map_err(|error| format!("kube-apiserver: {error} ({})", exit_note(apiserver.child())))?;
    let mut kcm = Command::new(tools.join("kube-controller-manager"));
    kcm.arg("--kubeconfig")
        .arg(dir.join("admin.kubeconfig"))
        .args(["--leader-elect=false", "--secure-port=0", "--bind-address=127.0.0.1"])
        .arg("--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller")
        .arg(format!("--root-ca-file={}", dir.join("pki/ca.crt").display()))
        .arg(format!("--service-account-private-key-file={}", dir.join("pki/sa.key").display()))
        .args(["--concurrent-gc-syncs=5", "-v=1"]);
    let controller_manager = spawn_logged(kcm, &dir.join("kube-controller-manager.log"));
    let (etcd, apiserver) = (etcd.disarm(), apiserver.disarm());
    let pids = vec![etcd.id(), apiserver.id(), controller_manager.id()];
    write_pids(dir, &pids);
    let watchdog = spawn_watchdog(dir, owner, idle);
    let state = State { server, etcd: etcd_url, pids, started_in: started.elapsed() };
    eprintln!(
        "control plane {KUBERNETES_VERSION} ready at {} in {:.1} s (logs in {})",
        state.server,
        state.started_in.as_secs_f64(),
        dir.display()
    );
    Ok((state, Processes { etcd, apiserver, controller_manager, _watchdog: watchdog }))
}

/// A child killed when dropped, until the start succeeded.
struct Killed(Option<Child>);

impl Killed {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("not yet disarmed")
    }

    fn disarm(mut self) -> Child {
        self.0.take().expect("disarmed once")
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// kube-apiserver with envtest's flags: RBAC, client certificates, service
/// account tokens (so the TokenRequest API works), no ServiceAccount admission.
fn spawn_apiserver(dir: &Path, etcd_url: &str, port: u16) -> Child {
    let pki = dir.join("pki");
    let file = |name: &str| pki.join(name).display().to_string();
    let mut command = Command::new(tools_dir().join("kube-apiserver"));
    command
        .arg(format!("--etcd-servers={etcd_url}"))
        .arg(format!("--cert-dir={}", pki.display()))
        .arg(format!("--tls-cert-file={}", file("apiserver.crt")))
        .arg(format!("--tls-private-key-file={}", file("apiserver.key")))
        .arg(format!("--client-ca-file={}", file("ca.crt")))
        .arg(format!("--secure-port={port}"))
        // A loopback address cannot back the `kubernetes` Service's endpoints.
        .args(["--bind-address=127.0.0.1", "--endpoint-reconciler-type=none"])
        .args(["--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount"])
        .args(["--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true"])
        .arg(format!("--service-account-issuer=https://127.0.0.1:{port}/"))
        .arg(format!("--service-account-key-file={}", file("sa.pub")))
        .arg(format!("--service-account-signing-key-file={}", file("sa.key")))
        .args(["--enable-priority-and-fairness=false", "--v=1"]);
    spawn_logged(command, &dir.join("kube-apiserver.log"))
}

/// Spawns `command` in a process group of its own (a test's end or a
/// signal to its group does not reach the plane), appending to `log`.
fn spawn_logged(mut command: Command, log: &Path) -> Child {
    let out = fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    let err = out.try_clone().expect("log file");
    command.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    command.spawn().unwrap_or_else(|e| panic!("spawn {command:?}: {e}"))
}

/// The processes a watchdog stops (a restarted API server replaces its pid).
fn write_pids(dir: &Path, pids: &[u32]) {
    let text = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    fs::write(dir.join("pids"), text).expect("write pids");
}

/// A shell loop that kills the plane's processes (`pids`) once `owner` has
/// exited, or (shared planes) once nobody has held `users` for `idle`
/// seconds. It takes the plane's lock before deciding it is idle, so that no
/// test attaches while it stops it.
fn spawn_watchdog(dir: &Path, owner: u32, idle: Option<u32>) -> Child {
    let idle = idle.unwrap_or(0);
    let script = format!(
        r#"cd "$1" || exit 1
quiet=0
while kill -0 {owner} 2>/dev/null; do
  sleep 1
  [ {idle} -gt 0 ] || continue
  if flock -n -x users true; then quiet=$((quiet + 1)); else quiet=0; fi
  if [ "$quiet" -ge {idle} ]; then
    exec 9>.lock
    flock 9
    if flock -n -x users true; then break; fi
    exec 9>&-
    quiet=0
  fi
done
kill -KILL $(cat pids) 2>/dev/null
rm -rf state.json etcd-data
# The run is over: nothing will read this plane again.
kill -0 {owner} 2>/dev/null || rm -rf "$1"
"#
    );
    Command::new("sh")
        .args(["-c", &script, "watchdog"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("the watchdog starts")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn etcd_healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

/// Polls `/readyz` with the admin's kubectl until it says `ok`, or the
/// API server process has exited.
fn wait_ready(dir: &Path, server: &str, within: Duration, apiserver: &mut Child) -> Result<(), String> {
    let kubeconfig = dir.join("admin.kubeconfig");
    let mut last = String::new();
    wait_until(within, || {
        if let Ok(Some(status)) = apiserver.try_wait() {
            last = format!("kube-apiserver exited: {status}");
            return true;
        }
        let output = kubectl_with(&kubeconfig, &["get", "--raw", "/readyz", "--request-timeout=5s"], None);
        last = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        output.status.success() && last.trim() == "ok"
    })
    .map_err(|_| format!("{server}/readyz not ok within {within:?}; last answer: {last}"))?;
    if last.trim() == "ok" { Ok(()) } else { Err(last) }
}

/// Polls `check` every 100 ms until it holds or `within` has passed.
fn wait_until(within: Duration, mut check: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn exit_note(child: &mut Child) -> String {
    match child.try_wait() {
        Ok(Some(status)) => format!("exited: {status}"),
        _ => "still running".to_owned(),
    }
}

fn logs_tail(dir: &Path, lines: usize) -> String {
    ["etcd.log", "kube-apiserver.log", "kube-controller-manager.log"]
        .iter()
        .map(|name| {
            let text = fs::read_to_string(dir.join(name)).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            format!("--- {name} (last {lines} lines)\n{}", all[all.len().saturating_sub(lines)..].join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// On a failing test, prints where the plane's logs are and their tails.
fn install_log_dump_on_panic(dir: &Path) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let dir = dir.to_path_buf();
    INSTALLED.get_or_init(move || {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            eprintln!("control plane logs in {}:\n{}", dir.display(), logs_tail(&dir, 25));
        }));
    });
}

struct Pki {
    ca_pem: String,
    admin_cert: String,
    admin_key: String,
}

/// A test CA, the API server's serving certificate, the admin's client
/// certificate (in `system:masters`) and the service account signing key.
fn write_pki(dir: &Path) -> Pki {
    let pki = dir.join("pki");
    fs::create_dir_all(&pki).expect("pki dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "zpa-operator test cluster CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let names = ["127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "10.0.0.1"];
    let mut server = CertificateParams::new(names.map(str::to_owned).to_vec()).expect("server params");
    server.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).expect("server certificate");

    let admin_key = KeyPair::generate().expect("admin key");
    let mut admin = CertificateParams::new(Vec::<String>::new()).expect("admin params");
    admin.distinguished_name.push(DnType::CommonName, "test-admin");
    admin.distinguished_name.push(DnType::OrganizationName, "system:masters");
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &issuer).expect("admin certificate");

    let sa_key = KeyPair::generate().expect("service account key");
    let files = [
        ("ca.crt", ca_cert.pem()),
        ("apiserver.crt", server_cert.pem()),
        ("apiserver.key", server_key.serialize_pem()),
        ("sa.key", sa_key.serialize_pem()),
        ("sa.pub", sa_key.public_key_pem()),
    ];
    for (name, text) in files {
        fs::write(pki.join(name), text).expect("write pki file");
    }
    Pki { ca_pem: ca_cert.pem(), admin_cert: admin_cert.pem(), admin_key: admin_key.serialize_pem() }
}

/// A kubeconfig with a client certificate.
fn write_kubeconfig(path: &Path, server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str) {
    use base64::Engine as _;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin\ncurrent-context: admin\n",
        b64(ca_pem),
        b64(cert_pem),
        b64(key_pem)
    );
    fs::write(path, text).expect("write kubeconfig");
}

/// A kubeconfig for the same server with a bearer token (a ServiceAccount's).
pub fn write_token_kubeconfig(plane: &ControlPlane, path: &Path, token: &str) {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(plane.ca_pem());
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: sa\n  user:\n    token: {token}\ncontexts:\n- name: sa\n  context:\n    cluster: test\n    user: sa\ncurrent-context: sa\n",
        plane.server
    );
    fs::write(path, text).expect("write kubeconfig");
}
