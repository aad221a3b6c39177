//! The real `zpa-operator` binary started with the container args and
//! environment of the chart's Deployment (downward API values filled in as the
//! kubelet would; only the listen address moved to a free loopback port),
//! against the real API server with the CRDs installed: it accepts them, serves
//! the liveness and readiness probe paths and /metrics on the chart's port, and
//! with leader election holds the chart's Lease in the release namespace as
//! POD_NAME.
//!
//! Each start gets namespaces and a provider-config selector of its own, so it
//! touches nothing another test of this binary made.
//!
//! Tools: the real control plane (tests/support/controlplane.rs), helm
//! (built with the other Go tools). A missing tool fails with one line.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use serde_json::Value;

use support::controlplane::{ControlPlane, unique_name};
use support::install::pod_args_and_env;
use support::tools::{HELM_INSTALL, RELEASE, TEST_IMAGE_REPOSITORY, documents, find, helm, root, run_tool};

const POD_NAME: &str = "zpa-operator-5d9c7f6b8-x2k4q";

/// `GET path` on loopback; the HTTP status code and the response, if anything answered.
async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, response))
}

/// The chart's container, rendered into `namespace` with `values`.
fn chart_container(namespace: &str, values: &[String]) -> Value {
    let output = run_tool(
        std::process::Command::new(helm())
            .arg("template")
            .arg(RELEASE)
            .arg(root().join("charts/zpa-operator"))
            .args(["--namespace", namespace])
            .args(["--set", &format!("image.repository={TEST_IMAGE_REPOSITORY}")])
            .args(values),
        HELM_INSTALL,
    );
    assert!(output.status.success(), "helm template {values:?}: {}", String::from_utf8_lossy(&output.stderr));
    let docs = documents(&String::from_utf8(output.stdout).unwrap());
    let deployment = find(&docs, "Deployment", RELEASE);
    deployment["spec"]["template"]["spec"]["containers"][0].clone()
}

struct ChartOperator {
    child: tokio::process::Child,
    port: u16,
    args: Vec<String>,
    namespace: String,
    container: Value,
}

impl ChartOperator {
    /// Renders the chart into a fresh namespace with `values` (plus a
    /// provider-config selector of its own) and starts the binary as the
    /// Deployment would run it, with the admin's kubeconfig.
    fn start(plane: &ControlPlane, values: &[String]) -> Self {
        let namespace = unique_name("chart-binary");
        plane.kubectl_ok(&["create", "namespace", &namespace]);
        let mut values = values.to_vec();
        values
            .extend(["--set-json".into(), format!(r#"extraArgs=["--provider-config-selector=zpa-test={namespace}"]"#)]);
        let container = chart_container(&namespace, &values);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (args, env) = pod_args_and_env(&container, POD_NAME, &namespace, port);
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_zpa-operator"));
        command.args(&args).env_clear().envs(env).env("KUBECONFIG", plane.admin_kubeconfig()).kill_on_drop(true);
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        let child = command.spawn().expect("zpa-operator starts");
        ChartOperator { child, port, args, namespace, container }
    }

    /// Polls `GET path` for up to 60 s until it answers 200; the last answer.
    async fn get_until_ok(&mut self, path: &str) -> (u16, String) {
        let until = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let last = http_get(self.port, path).await;
            if last.as_ref().is_some_and(|(code, _)| *code == 200) || tokio::time::Instant::now() > until {
                return last.unwrap_or_else(|| panic!("nothing answers {path} on the metrics port"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                use tokio::io::AsyncReadExt;
                let mut stderr = String::new();
                self.child.stderr.take().unwrap().read_to_string(&mut stderr).await.ok();
                panic!("zpa-operator exited ({status}) with the chart's args {:?}:\n{stderr}", self.args);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn probe_path(&self, probe: &str) -> String {
        self.container[probe]["httpGet"]["path"].as_str().unwrap_or_else(|| panic!("{probe} path")).to_owned()
    }

    async fn stop(mut self, plane: &ControlPlane) {
        self.child.kill().await.expect("stop zpa-operator");
        plane.kubectl_ok(&["delete", "namespace", &self.namespace, "--wait=false"]);
    }
}

/// Default values, and a namespace-scoped HA install (watched namespaces of
/// its own).
fn variants(plane: &ControlPlane) -> Vec<Vec<String>> {
    let team_a = unique_name("team-a");
    let team_b = unique_name("team-b");
    for namespace in [&team_a, &team_b] {
        plane.kubectl_ok(&["create", "namespace", namespace]);
    }
    vec![
        vec![],
        vec!["--set".into(), format!("watchNamespaces={{{team_a},{team_b}}}"), "--set".into(), "replicas=2".into()],
    ]
}

/// The binary accepts the chart's arguments and environment, serves the
/// liveness path and /metrics on the chart's port, and with leader election
/// holds the chart's Lease in the release namespace as POD_NAME.
#[tokio::test]
async fn operator_binary_runs_with_the_chart_args_and_serves_liveness_and_metrics() {
    let plane = ControlPlane::shared();
    for values in variants(plane) {
        let mut operator = ChartOperator::start(plane, &values);
        let liveness = operator.probe_path("livenessProbe");
        let (code, body) = operator.get_until_ok(&liveness).await;
        assert_eq!(code, 200, "{values:?}: GET {liveness}:\n{body}");
        let (code, body) = operator.get_until_ok("/metrics").await;
        assert_eq!(code, 200, "{values:?}: GET /metrics:\n{body}");
        assert!(body.contains("zpa_operator_"), "metrics are served:\n{body}");
        if operator.args.contains(&"--leader-elect".to_owned()) {
            let lease_name = operator
                .args
                .iter()
                .find_map(|a| a.strip_prefix("--leader-election-lease="))
                .expect("the chart names the Lease")
                .to_owned();
            let leases: Api<Lease> = Api::namespaced(plane.admin_client().await, &operator.namespace);
            let holder = support::eventually("the chart's Lease to be held", Duration::from_secs(60), || {
                let leases = leases.clone();
                let lease_name = lease_name.clone();
                async move { leases.get_opt(&lease_name).await.ok().flatten().and_then(|l| l.spec?.holder_identity) }
            })
            .await;
            assert_eq!(holder, POD_NAME, "Lease {}/{lease_name} is held by POD_NAME", operator.namespace);
        }
        operator.stop(plane).await;
    }
}

/// The readiness path answers 200 once the caches are synced (or the replica
/// stands by for the Lease), as the chart's readinessProbe expects.
#[tokio::test]
async fn operator_binary_turns_ready_on_the_chart_readiness_probe() {
    let plane = ControlPlane::shared();
    for values in variants(plane) {
        let mut operator = ChartOperator::start(plane, &values);
        let readiness = operator.probe_path("readinessProbe");
        let (code, body) = operator.get_until_ok(&readiness).await;
        assert_eq!(code, 200, "{values:?}: GET {readiness} never answered 200 within 60 s:\n{body}");
        operator.stop(plane).await;
    }
}
