//! The install paths as a user runs them, against the real API server (each
//! test on a control plane of its own: they install CRDs and cluster-wide
//! RBAC): `kubectl apply -k deploy/` with the examples converged by the
//! operator running as the chart's ServiceAccount, and the README's Helm
//! recipe run verbatim, then upgraded and uninstalled.
//!
//! Tools: the real control plane, and helm built with the other Go tools.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::controlplane::{ControlPlane, tool, write_token_kubeconfig};
use support::install::pod_args_and_env;
use support::processes::{operator_binary, start_simulator, tail};
use support::tools::{documents, helm, read, root};

/// An operator process, killed when dropped.
struct Pod {
    child: Child,
    log: PathBuf,
}

impl Pod {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The operator Deployment of `manifests` run as its pod would run, with a
/// TokenRequest token of its ServiceAccount.
fn run_pod(plane: &ControlPlane, dir: &Path, manifests: &[Value], namespace: &str) -> Pod {
    let deployment = manifests.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let service_account = pod["serviceAccountName"].as_str().expect("the pod's ServiceAccount");
    let token = plane.kubectl_ok(&["-n", namespace, "create", "token", service_account, "--duration=1h"]);
    let kubeconfig = dir.join("pod.kubeconfig");
    write_token_kubeconfig(plane, &kubeconfig, token.trim());
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let (args, env) = pod_args_and_env(&pod["containers"][0], "zpa-operator-7c9d8f6b5-q4x2z", namespace, port);
    let log = dir.join("operator.log");
    let stderr = std::fs::File::create(&log).expect("log file");
    let child = Command::new(operator_binary())
        .args(&args)
        .env_clear()
        .envs(env)
        .env("KUBECONFIG", &kubeconfig)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("zpa-operator starts");
    Pod { child, log }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_manifests_install_and_the_examples_converge_as_the_charts_service_account() {
    let plane = ControlPlane::dedicated();
    let dir = tempfile::tempdir().expect("temp dir");
    plane.kubectl_ok(&["apply", "-k", "deploy/"]);
    plane.kubectl_ok(&["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
    // The examples' provider config points at a simulator on 127.0.0.1:8085.
    let (_simulator, _) = start_simulator("127.0.0.1:8085", &[]);
    let manifests = documents(&read("deploy/zpa-operator.yaml"));
    let pod = run_pod(plane, dir.path(), &manifests, "zpa-system");

    plane.kubectl_ok(&["apply", "--server-side", "-f", "examples/"]);
    let waited =
        plane.kubectl(&["wait", "--for=condition=Ready", "isop,mt", "--all", "-n", "default", "--timeout=120s"]);
    assert!(
        waited.status.success(),
        "kubectl wait: {}\noperator log:\n{}",
        String::from_utf8_lossy(&waited.stderr),
        tail(&pod.log(), 40)
    );

    let explained = plane.kubectl_ok(&["explain", "isolationprofile.spec.regions"]);
    assert!(explained.contains("FIELD: regions <[]string>"), "{explained}");
    assert!(explained.contains("DESCRIPTION:"), "{explained}");
    let all = plane.kubectl_ok(&["get", "zpa", "-A"]);
    for object in [
        "zpaproviderconfig.zpa.operator.dev/default",
        "microtenant.zpa.operator.dev/team-payments",
        "isolationprofile.zpa.operator.dev/web-isolation",
    ] {
        assert!(all.contains(object), "kubectl get zpa lists {object}:\n{all}");
    }
    let described = plane.kubectl_ok(&["describe", "isop", "web-isolation", "-n", "default"]);
    let events = described.split("Events:").nth(1).unwrap_or_default();
    assert!(events.contains("Created"), "kubectl describe shows the operator's events:\n{described}");
}

/// The `sh` blocks of the README section under `heading`.
fn readme_blocks(heading: &str) -> Vec<String> {
    let readme = read("README.md");
    let section = readme.split(heading).nth(1).expect("the README section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section.split("```sh\n").skip(1).filter_map(|b| b.split("```").next()).map(str::to_owned).collect()
}

/// Runs a README block with bash (errors stop it), the Go-built kubectl and
/// Helm first on PATH, against `plane`.
fn run_block(plane: &ControlPlane, dir: &Path, block: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    for (name, target) in [("kubectl", tool("kubectl")), ("helm", PathBuf::from(helm()))] {
        let link = bin.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(target, link).expect("tool link");
        }
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(root())
        .env("PATH", path)
        .env("KUBECONFIG", plane.admin_kubeconfig())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the README block failed:\n{block}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn json(plane: &ControlPlane, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    serde_json::from_str(&plane.kubectl_ok(&args)).expect("kubectl JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_helm_recipe_runs_verbatim_then_upgrades_and_uninstalls_keeping_the_crds() {
    let plane = ControlPlane::dedicated();
    let dir = tempfile::tempdir().expect("temp dir");
    let blocks = readme_blocks("## Install on a cluster");
    // The recipe from the folders (tests/release.rs runs the one from the OCI registry).
    let from_folders = blocks.iter().find(|b| b.contains("helm install zpa-operator charts/zpa-operator "));
    let apply = blocks.iter().find(|b| b.starts_with("kubectl apply -f examples/"));
    let (Some(from_folders), Some(apply)) = (from_folders, apply) else {
        panic!("the README has the install recipe from the folders and the apply block: {blocks:?}")
    };
    // The placeholders a reader replaces, replaced; nothing else changes.
    let recipe = from_folders
        .replace("REGISTRY/", "registry.example.com/platform/")
        .replace("YOUR_CLIENT_ID", "sim-client")
        .replace("YOUR_CLIENT_SECRET", "sim-secret")
        .replace("YOUR_CUSTOMER_ID", "72057594037927936");
    assert!(!recipe.contains("YOUR_") && !recipe.contains("REGISTRY"), "a placeholder left: {recipe}");
    run_block(plane, dir.path(), &recipe);

    let crd = json(plane, &["get", "crd", "microtenants.zpa.operator.dev"]);
    assert_eq!(
        crd["metadata"]["annotations"]["meta.helm.sh/release-name"], "zpa-operator-crds",
        "the CRD chart owns them"
    );
    let config = json(plane, &["get", "zpapc", "default"]);
    assert_eq!(config["spec"]["customerId"], "72057594037927936", "every digit, as a string");
    assert_eq!(config["spec"]["cloud"], "PRODUCTION");
    let deployment = json(plane, &["-n", "zpa-system", "get", "deployment", "zpa-operator"]);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.example.com/platform/zpa-operator:0.1.0");
    // The next block applies the examples' resources and lists them, verbatim.
    let listed = run_block(plane, dir.path(), apply);
    assert!(listed.contains("team-payments") && listed.contains("web-isolation"), "{listed}");

    // An upgrade with changed values changes what it should.
    run_block(
        plane,
        dir.path(),
        "helm upgrade zpa-operator charts/zpa-operator -n zpa-system --reuse-values --set resyncInterval=10m --set replicas=2",
    );
    let upgraded = json(plane, &["-n", "zpa-system", "get", "deployment", "zpa-operator"]);
    assert_eq!(upgraded["spec"]["replicas"], 2);
    let args: Vec<&str> = upgraded["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--resync-interval=10m"), "{args:?}");
    assert!(args.iter().any(|a| a.starts_with("--leader-elect")), "two replicas elect a leader: {args:?}");

    // Uninstalled, the operator goes; the CRDs and the resources in them stay.
    run_block(plane, dir.path(), "helm uninstall zpa-operator -n zpa-system\nhelm uninstall zpa-operator-crds");
    let gone = plane.kubectl(&["-n", "zpa-system", "get", "deployment", "zpa-operator"]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"), "the Deployment is uninstalled");
    for crd in ["microtenants", "isolationprofiles", "zpaproviderconfigs"] {
        plane.kubectl_ok(&["get", "crd", &format!("{crd}.zpa.operator.dev")]);
    }
    let kept = plane.kubectl_ok(&["get", "mt", "team-payments", "-n", "default", "-o", "name"]);
    assert_eq!(kept.trim(), "microtenant.zpa.operator.dev/team-payments", "the custom resources stay");
}
