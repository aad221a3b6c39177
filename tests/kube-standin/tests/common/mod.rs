//! Shared helpers for the kube-standin integration tests: starting a stand-in, installing the
//! fixture CRDs, typed custom resources, polling with deadlines, raw HTTP and running kubectl.
#![allow(dead_code)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResource;
use kube::api::{Api, PostParams};
use kube_standin::{RunningStandIn, StandInConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const GROUP: &str = "zpa.operator.dev";

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "zpa.operator.dev",
    version = "v1alpha1",
    kind = "IsolationProfile",
    namespaced,
    status = "IsolationProfileStatus",
    schema = "disabled",
    shortname = "isop"
)]
#[serde(rename_all = "camelCase")]
pub struct IsolationProfileSpec {
    pub name: String,
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_controls: Option<SecurityControls>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecurityControls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_paste: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IsolationProfileStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "zpa.operator.dev",
    version = "v1alpha1",
    kind = "Microtenant",
    namespaced,
    status = "serde_json::Value",
    schema = "disabled",
    shortname = "mt"
)]
#[serde(rename_all = "camelCase")]
pub struct MicrotenantSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

pub fn profile(name: &str, display: &str, regions: &[&str]) -> IsolationProfile {
    let mut p = IsolationProfile::new(
        name,
        IsolationProfileSpec {
            name: display.into(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        },
    );
    p.metadata.namespace = Some("default".into());
    p
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub async fn start() -> RunningStandIn {
    start_with(StandInConfig { bookmark_interval: Duration::from_millis(200), ..StandInConfig::default() }).await
}

pub async fn start_with(config: StandInConfig) -> RunningStandIn {
    match kube_standin::start(config).await {
        Ok(s) => s,
        Err(e) => panic!("starting the stand-in: {e}"),
    }
}

/// Creates the fixture CRDs through the kube client.
pub async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for file in ["isolationprofiles.yaml", "microtenants.yaml"] {
        let text = std::fs::read_to_string(fixtures().join("crds").join(file))
            .unwrap_or_else(|e| panic!("reading {file}: {e}"));
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parsing {file}: {e}"));
        crds.create(&PostParams::default(), &crd).await.unwrap_or_else(|e| panic!("creating {file}: {e}"));
    }
}

/// Polls `check` until it returns `Some`, failing after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {secs}s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status code of a kube API error.
pub fn api_code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A minimal HTTP/1.1 exchange, to inspect headers and raw bodies.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

pub async fn raw(
    server: &RunningStandIn,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap_or_else(|e| panic!("connect: {e}"));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr(),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap_or_else(|e| panic!("write: {e}"));
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap_or_else(|e| panic!("read: {e}"));
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    RawResponse { status, headers, body: body.to_string() }
}

/// The kubectl binary, or a clear failure when it is missing.
pub fn kubectl_path() -> PathBuf {
    let out = Command::new("which").arg("kubectl").output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => panic!("kubectl is not on PATH: the kubectl tests need the real kubectl 1.32 (CI installs it)"),
    }
}

/// A kubectl bound to one stand-in through a kubeconfig in a temp dir.
pub struct Kubectl {
    pub dir: tempfile::TempDir,
    pub bin: PathBuf,
}

impl Kubectl {
    pub fn new(server: &RunningStandIn) -> Self {
        let bin = kubectl_path();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        server.write_kubeconfig(dir.path().join("kubeconfig")).unwrap_or_else(|e| panic!("kubeconfig: {e}"));
        Self { dir, bin }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args);
        c
    }

    /// Runs kubectl to completion (off the async runtime's worker).
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        let what = args.join(" ");
        tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap_or_else(|e| panic!("kubectl {what}: {e}"))
            .unwrap_or_else(|e| panic!("running kubectl: {e}"))
    }

    /// Runs kubectl and requires success; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        if !out.status.success() {
            panic!(
                "kubectl {} failed: {}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl and requires failure; returns stderr.
    pub async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        if out.status.success() {
            panic!("kubectl {} unexpectedly succeeded: {}", args.join(" "), String::from_utf8_lossy(&out.stdout));
        }
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn fixture(&self, rel: &str) -> String {
        fixtures().join(rel).to_string_lossy().into_owned()
    }
}

/// `metadata.resourceVersion` as a number.
pub fn rv_num<K: kube::Resource>(o: &K) -> u64 {
    o.meta()
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no numeric resourceVersion"))
}
