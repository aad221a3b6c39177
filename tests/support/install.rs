//! The operator with exactly the permissions its chart gives it: the chart
//! rendered by the real `helm template`, its ServiceAccount and RBAC applied
//! to the real API server, and a token for that ServiceAccount from the
//! TokenRequest API (`kubectl create token`), in a kubeconfig operator
//! processes run with.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::controlplane::{ControlPlane, write_token_kubeconfig};
use super::tools::{documents, helm, helm_template, kind};

/// The kinds of a render that make up the operator's identity and rights.
const RBAC_KINDS: [&str; 5] = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

/// A chart release's ServiceAccount, its RBAC as applied, and a kubeconfig
/// with a token for it.
pub struct ChartIdentity {
    pub namespace: String,
    pub service_account: String,
    /// The ServiceAccount, Roles, ClusterRoles and bindings of the render.
    pub rbac: Vec<Value>,
    pub kubeconfig: PathBuf,
}

impl ChartIdentity {
    /// Renders `charts/zpa-operator` as release `release` in `namespace` with
    /// `values` (`--set` pairs), applies its RBAC (the namespaces it names must
    /// exist) and writes a token kubeconfig into `dir`.
    pub fn install(plane: &ControlPlane, dir: &Path, release: &str, namespace: &str, values: &[&str]) -> Self {
        // The release's names come from fullnameOverride: unique per test on a shared plane.
        let fullname = format!("fullnameOverride={release}");
        let mut args = vec!["--namespace", namespace, "--set", fullname.as_str()];
        for value in values {
            args.extend(["--set", value]);
        }
        let rendered = documents(&helm_template(&helm(), "zpa-operator", &args));
        let rbac: Vec<Value> = rendered.into_iter().filter(|doc| RBAC_KINDS.contains(&kind(doc))).collect();
        let service_account = rbac
            .iter()
            .find(|doc| kind(doc) == "ServiceAccount")
            .and_then(|doc| doc["metadata"]["name"].as_str())
            .expect("the chart renders a ServiceAccount")
            .to_owned();
        let identity =
            Self { namespace: namespace.to_owned(), service_account, rbac, kubeconfig: dir.join("sa.kubeconfig") };
        identity.apply(plane, dir, &identity.rbac);
        let token = plane.kubectl_ok(&["-n", namespace, "create", "token", &identity.service_account, "--duration=2h"]);
        write_token_kubeconfig(plane, &identity.kubeconfig, token.trim());
        identity
    }

    /// Applies `documents` (the RBAC as rendered, or changed by a test).
    pub fn apply(&self, plane: &ControlPlane, dir: &Path, documents: &[Value]) {
        let path = dir.join("rbac.json");
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": documents});
        std::fs::write(&path, list.to_string()).expect("write RBAC");
        plane.kubectl_ok(&["apply", "-f", path.to_str().expect("a UTF-8 path")]);
    }

    /// `system:serviceaccount:<namespace>:<name>`, for `kubectl --as`.
    pub fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.service_account)
    }
}

/// The operator container of a rendered Deployment as its pod runs it: the
/// container's args with the metrics address moved to `127.0.0.1:port` (the
/// only change), and its env with the downward API filled in as the kubelet
/// would (`metadata.name` is `pod_name`, `metadata.namespace` is `namespace`).
pub fn pod_args_and_env(
    container: &Value,
    pod_name: &str,
    namespace: &str,
    port: u16,
) -> (Vec<String>, Vec<(String, String)>) {
    let chart_port = container["ports"][0]["containerPort"].as_u64().expect("the container's metrics port");
    let chart_listen = format!("--metrics-listen=0.0.0.0:{chart_port}");
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("container args")
        .iter()
        .map(|a| a.as_str().expect("string args").to_owned())
        .map(|a| if a == chart_listen { format!("--metrics-listen=127.0.0.1:{port}") } else { a })
        .collect();
    assert!(args.contains(&format!("--metrics-listen=127.0.0.1:{port}")), "the chart sets {chart_listen}: {args:?}");
    let env = container["env"]
        .as_array()
        .expect("container env")
        .iter()
        .map(|env| {
            let value = match (&env["value"], env["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
                (Value::String(value), _) => value.clone(),
                (_, Some("metadata.name")) => pod_name.to_owned(),
                (_, Some("metadata.namespace")) => namespace.to_owned(),
                other => panic!("unexpected env source {other:?}"),
            };
            (env["name"].as_str().expect("an env name").to_owned(), value)
        })
        .collect();
    (args, env)
}
