//! The Helm charts as `helm template` renders them: what each values setting
//! yields, least-privilege RBAC per install mode, the CRDs carried verbatim,
//! `helm lint --strict`, the values schema and README, and every rendered
//! built-in object decoding as its Kubernetes type (no unknown or mistyped
//! field).
//!
//! Tools: `helm` (the one built from Go modules with the other test tools;
//! `ZPA_HELM` may name one or more others, space-separated, 3.x or 4.x). A missing tool
//! fails the test with one line saying what to install.
//!
//! What the API server says about these renders (`kubectl apply
//! --dry-run=server`) is in `tests/manifest_server_validation.rs`; their
//! schemas offline (kubeconform) in `tests/manifest_schemas.rs`; the alerts in
//! `tests/monitoring.rs`; the binary run with the chart's args in
//! `tests/chart_binary.rs`.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use support::tools::{
    NAMESPACE, RELEASE, TEST_IMAGE_REPOSITORY, crd_sources, documents, find, helm_binaries, helm_template,
    helm_template_error, kind, name, namespace, of_kind, read, root, run, stderr_of, strings, summary,
};

/// The version of `[package]` in Cargo.toml.
fn crate_version() -> String {
    let manifest = read("Cargo.toml");
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(rest) = line.strip_prefix("version") {
            return rest.trim_start().trim_start_matches('=').trim().trim_matches('"').to_owned();
        }
    }
    panic!("no [package] version in Cargo.toml")
}

fn chart_metadata(chart: &str) -> Value {
    serde_saphyr::from_str(&read(format!("charts/{chart}/Chart.yaml"))).expect("Chart.yaml parses")
}

// ---------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------

/// One RBAC permission: (apiGroup, resource, verb, resourceName or "").
type Permission = (String, String, String, String);

fn permissions(role: &Value) -> BTreeSet<Permission> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().expect("a role has rules") {
        let names = strings(&rule["resourceNames"]);
        let names = if names.is_empty() { vec![String::new()] } else { names };
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    for name in &names {
                        out.insert((group.clone(), resource.clone(), verb.clone(), name.clone()));
                    }
                }
            }
        }
    }
    out
}

fn grants(entries: &[(&str, &[&str], &[&str])]) -> BTreeSet<Permission> {
    let mut out = BTreeSet::new();
    for (group, resources, verbs) in entries {
        for resource in *resources {
            for verb in *verbs {
                out.insert(((*group).to_owned(), (*resource).to_owned(), (*verb).to_owned(), String::new()));
            }
        }
    }
    out
}

/// What the operator does with the namespaced kinds, Secrets and Events.
fn namespaced_permissions() -> BTreeSet<Permission> {
    grants(&[
        ("zpa.operator.dev", &["isolationprofiles", "microtenants"], &["get", "list", "watch", "patch", "update"]),
        ("zpa.operator.dev", &["isolationprofiles/status", "microtenants/status"], &["get", "patch", "update"]),
        ("zpa.operator.dev", &["isolationprofiles/finalizers", "microtenants/finalizers"], &["update"]),
        ("", &["secrets"], &["get", "list", "watch", "create", "patch"]),
        ("events.k8s.io", &["events"], &["create", "patch"]),
        ("", &["events"], &["create", "patch"]),
    ])
}

/// What the operator does with the cluster-scoped ZpaProviderConfig.
fn provider_config_permissions() -> BTreeSet<Permission> {
    grants(&[
        ("zpa.operator.dev", &["zpaproviderconfigs"], &["get", "list", "watch"]),
        ("zpa.operator.dev", &["zpaproviderconfigs/status"], &["get", "patch", "update"]),
    ])
}

fn leader_election_permissions(lease: &str) -> BTreeSet<Permission> {
    let mut out = grants(&[("coordination.k8s.io", &["leases"], &["create"])]);
    for verb in ["get", "update"] {
        out.insert(("coordination.k8s.io".into(), "leases".into(), verb.into(), lease.into()));
    }
    out
}

fn operator_container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one container: the operator");
    &containers[0]
}

fn env_value<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("env {name} is not set"))
}

fn assert_binding(binding: &Value, role_kind: &str, role_name: &str) {
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}]),
        "{} {} binds the operator's ServiceAccount",
        kind(binding),
        name(binding)
    );
}

/// Checks shared by every render of the operator chart.
fn assert_operator_basics(docs: &[Value]) {
    let appversion = chart_metadata("zpa-operator")["appVersion"].as_str().expect("appVersion").to_owned();
    for doc in docs {
        match kind(doc) {
            "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding" | "ZpaProviderConfig" => {
                assert_eq!(namespace(doc), None, "{} {} is cluster-scoped", kind(doc), name(doc));
            }
            "Role" | "RoleBinding" => assert!(namespace(doc).is_some(), "{} {} has a namespace", kind(doc), name(doc)),
            _ => assert_eq!(namespace(doc), Some(NAMESPACE), "{} {} is in the release namespace", kind(doc), name(doc)),
        }
        if kind(doc) != "CustomResourceDefinition" {
            let labels = &doc["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/name"], "zpa-operator", "{} {} labels", kind(doc), name(doc));
            assert_eq!(labels["app.kubernetes.io/instance"], RELEASE);
        }
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for field in ["apiGroups", "resources", "verbs"] {
                assert!(!strings(&rule[field]).contains(&"*".to_owned()), "no wildcard {field} in {}", name(doc));
            }
        }
    }

    let service_account = find(docs, "ServiceAccount", RELEASE);
    assert_eq!(namespace(service_account), Some(NAMESPACE));

    let deployment = find(docs, "Deployment", RELEASE);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], RELEASE);
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "zpa-operator", "app.kubernetes.io/instance": RELEASE})
    );
    for (key, value) in deployment["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels") {
        assert_eq!(&deployment["spec"]["template"]["metadata"]["labels"][key], value, "pod labels match the selector");
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["hostNetwork"], Value::Null, "no host network");

    let container = operator_container(deployment);
    assert_eq!(container["image"], format!("{TEST_IMAGE_REPOSITORY}:{appversion}"), "the tag defaults to appVersion");
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 65532);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"], json!({"drop": ["ALL"]}), "all capabilities dropped, none added");
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(security["privileged"], Value::Null);
    for class in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(container["resources"][class][resource].is_string(), "resources.{class}.{resource} is set");
        }
    }
    assert_eq!(container["ports"], json!([{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}]));
    assert_eq!(container["livenessProbe"]["httpGet"], json!({"path": "/healthz", "port": "metrics"}));
    assert_eq!(container["readinessProbe"]["httpGet"], json!({"path": "/readyz", "port": "metrics"}));
    assert_eq!(env_value(container, "POD_NAME")["valueFrom"], json!({"fieldRef": {"fieldPath": "metadata.name"}}));
    assert_eq!(
        env_value(container, "POD_NAMESPACE")["valueFrom"],
        json!({"fieldRef": {"fieldPath": "metadata.namespace"}})
    );
    assert_eq!(env_value(container, "ZPA_OPERATOR_LOG_LEVEL")["value"], "info");
    assert_eq!(env_value(container, "ZPA_OPERATOR_LOG_FORMAT")["value"], "text");
    let args = strings(&container["args"]);
    assert_eq!(
        args[..7],
        [
            "run",
            "--resync-interval=30m",
            "--concurrency=16",
            "--metrics-listen=0.0.0.0:8080",
            "--rate-limit-reads=20",
            "--rate-limit-writes=10",
            "--rate-limit-window=10s",
        ]
    );
    assert!(!args.iter().any(|a| a == "--no-rate-limit"), "the ZPA rate limiter stays on");

    let service = find(docs, "Service", &format!("{RELEASE}-metrics"));
    assert_eq!(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"]);
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}])
    );
}

// ---------------------------------------------------------------------------
// CRDs: both charts carry exactly crds/ plus the keep annotation
// ---------------------------------------------------------------------------

const KEEP: &str = "  annotations:\n    helm.sh/resource-policy: keep\n";

/// The CRD files of crds/, by CRD name: (file name, text after the leading `---`).
/// The rendered documents of `text` as raw text (without helm's `# Source:` line).
fn raw_documents(text: &str) -> Vec<String> {
    format!("\n{text}")
        .split("\n---\n")
        .map(|chunk| {
            chunk.lines().filter(|l| !l.starts_with("# Source: ")).collect::<Vec<_>>().join("\n").trim().to_owned()
        })
        .filter(|chunk| !chunk.is_empty() && !chunk.lines().all(|l| l.starts_with('#')))
        .collect()
}

/// Checks that the CRD documents of a render are the files of crds/ plus the
/// keep annotation, byte for byte.
fn assert_crds_match_sources(rendered: &str, what: &str) {
    let sources = crd_sources();
    let mut seen = BTreeSet::new();
    for raw in raw_documents(rendered) {
        let doc: Value = serde_saphyr::from_str(&raw).expect("rendered document parses");
        if kind(&doc) != "CustomResourceDefinition" {
            continue;
        }
        let crd_name = name(&doc).to_owned();
        let (file, source) = sources.get(&crd_name).unwrap_or_else(|| panic!("{what}: {crd_name} is not in crds/"));
        assert_eq!(
            doc["metadata"]["annotations"],
            json!({"helm.sh/resource-policy": "keep"}),
            "{what}: {crd_name} carries the keep annotation and no other"
        );
        let stripped = raw.replacen(&format!("\nmetadata:\n{KEEP}"), "\nmetadata:\n", 1);
        assert!(stripped == *source, "{what}: {crd_name} differs from crds/{file} beyond the keep annotation");
        let source_doc: Value = serde_saphyr::from_str(source).expect("source parses");
        let mut without_keep = doc.clone();
        without_keep["metadata"].as_object_mut().unwrap().remove("annotations");
        assert_eq!(without_keep, source_doc, "{what}: {crd_name} parses to the same object as crds/{file}");
        assert!(seen.insert(crd_name.clone()), "{what}: {crd_name} rendered twice");
    }
    assert_eq!(seen, sources.keys().cloned().collect(), "{what}: every CRD of crds/ is rendered");
}

#[test]
fn crd_chart_and_operator_chart_carry_crds_dir_verbatim() {
    for helm in helm_binaries() {
        let crds_chart = helm_template(&helm, "zpa-operator-crds", &[]);
        let docs = documents(&crds_chart);
        assert_eq!(docs.len(), 3, "{helm}: the CRD chart renders only the three CRDs: {:?}", summary(&docs));
        assert_crds_match_sources(&crds_chart, "zpa-operator-crds");

        let operator = helm_template(&helm, "zpa-operator", &["--set", "crds.install=true"]);
        assert_crds_match_sources(&operator, "zpa-operator (crds.install=true)");

        // By default the CRD chart alone owns the CRDs: installing both charts
        // in the README's order never makes two releases claim them.
        let default = helm_template(&helm, "zpa-operator", &[]);
        assert!(
            of_kind(&documents(&default), "CustomResourceDefinition").is_empty(),
            "the operator chart renders no CRD by default"
        );

        // A packaged chart carries the CRD files themselves (the symlink is resolved).
        let dir = tempfile::tempdir().expect("temp dir");
        for (chart, unpacked) in [("zpa-operator-crds", &crds_chart), ("zpa-operator", &operator)] {
            let output = run(Command::new(&helm)
                .arg("package")
                .arg(root().join("charts").join(chart))
                .arg("--destination")
                .arg(dir.path()));
            assert!(output.status.success(), "helm package {chart}: {}", stderr_of(&output));
            let version = chart_metadata(chart)["version"].as_str().expect("version").to_owned();
            let archive = dir.path().join(format!("{chart}-{version}.tgz"));
            let extra: &[&str] = if chart == "zpa-operator" { &["--set", "crds.install=true"] } else { &[] };
            let output = run(Command::new(&helm)
                .arg("template")
                .arg(RELEASE)
                .arg(&archive)
                .args(["--namespace", NAMESPACE])
                .args(["--set", &format!("image.repository={TEST_IMAGE_REPOSITORY}")])
                .args(extra));
            assert!(output.status.success(), "helm template {}: {}", archive.display(), stderr_of(&output));
            assert!(
                String::from_utf8_lossy(&output.stdout) == unpacked.as_str(),
                "{chart}: the packaged chart renders like the directory"
            );
        }
    }
    for chart in ["zpa-operator", "zpa-operator-crds"] {
        let link = root().join("charts").join(chart).join("crd-sources");
        let target =
            fs::read_link(&link).unwrap_or_else(|e| panic!("{} must be a symlink to ../../crds: {e}", link.display()));
        assert_eq!(target, Path::new("../../crds"), "{} points at the repository's crds/", link.display());
    }
}

// ---------------------------------------------------------------------------
// The operator chart
// ---------------------------------------------------------------------------

#[test]
fn default_render_is_locked_down_and_least_privilege() {
    for helm in helm_binaries() {
        let docs = documents(&helm_template(&helm, "zpa-operator", &[]));
        assert_eq!(
            summary(&docs),
            [
                "ClusterRole zpa-operator",
                "ClusterRoleBinding zpa-operator",
                "Deployment zpa-system/zpa-operator",
                "PodDisruptionBudget zpa-system/zpa-operator",
                "Service zpa-system/zpa-operator-metrics",
                "ServiceAccount zpa-system/zpa-operator",
            ],
            "{helm}: default render"
        );
        assert_operator_basics(&docs);

        let mut expected = namespaced_permissions();
        expected.extend(provider_config_permissions());
        assert_eq!(permissions(find(&docs, "ClusterRole", RELEASE)), expected, "cluster-wide rules");
        assert_binding(find(&docs, "ClusterRoleBinding", RELEASE), "ClusterRole", RELEASE);

        let deployment = find(&docs, "Deployment", RELEASE);
        assert_eq!(deployment["spec"]["replicas"], 1);
        assert_eq!(
            deployment["spec"]["strategy"],
            json!({"type": "Recreate"}),
            "never two writers without leader election"
        );
        let args = strings(&operator_container(deployment)["args"]);
        assert_eq!(args.len(), 8, "no namespace list, no leader election by default: {args:?}");
        assert_eq!(args[7], "--shutdown-grace=20s", "drains within terminationGracePeriodSeconds (30)");
    }
}

#[test]
fn namespace_scoped_install_uses_roles() {
    let values = tempfile::NamedTempFile::new().expect("temp file");
    fs::write(values.path(), "watchNamespaces:\n  - team-a\n  - team-b\n").expect("write values");
    let values_path = values.path().to_str().expect("UTF-8 path");
    for helm in helm_binaries() {
        let docs = documents(&helm_template(&helm, "zpa-operator", &["--values", values_path]));
        assert_operator_basics(&docs);
        let rbac: Vec<String> = summary(&docs).into_iter().filter(|s| s.contains("Role")).collect();
        assert_eq!(
            rbac,
            [
                "ClusterRole zpa-operator-provider-configs",
                "ClusterRoleBinding zpa-operator-provider-configs",
                "Role team-a/zpa-operator",
                "Role team-b/zpa-operator",
                "Role zpa-system/zpa-operator-credentials",
                "RoleBinding team-a/zpa-operator",
                "RoleBinding team-b/zpa-operator",
                "RoleBinding zpa-system/zpa-operator-credentials",
            ],
            "{helm}: namespace-scoped RBAC"
        );
        assert_eq!(
            permissions(find(&docs, "ClusterRole", "zpa-operator-provider-configs")),
            provider_config_permissions()
        );
        assert_binding(
            find(&docs, "ClusterRoleBinding", "zpa-operator-provider-configs"),
            "ClusterRole",
            "zpa-operator-provider-configs",
        );
        for ns in ["team-a", "team-b"] {
            let role = docs.iter().find(|d| kind(d) == "Role" && namespace(d) == Some(ns)).expect("role per namespace");
            assert_eq!(permissions(role), namespaced_permissions(), "Role in {ns}");
            let binding = docs.iter().find(|d| kind(d) == "RoleBinding" && namespace(d) == Some(ns)).expect("binding");
            assert_binding(binding, "Role", RELEASE);
        }
        let credentials = find(&docs, "Role", "zpa-operator-credentials");
        assert_eq!(namespace(credentials), Some(NAMESPACE));
        assert_eq!(permissions(credentials), grants(&[("", &["secrets"], &["get"])]), "credentials: get only");
        assert_binding(find(&docs, "RoleBinding", "zpa-operator-credentials"), "Role", "zpa-operator-credentials");

        let args = strings(&operator_container(find(&docs, "Deployment", RELEASE))["args"]);
        assert!(args.contains(&"--watch-namespaces=team-a,team-b".to_owned()), "{args:?}");

        // Credentials Secrets elsewhere, and a repeated namespace.
        let elsewhere = documents(&helm_template(
            &helm,
            "zpa-operator",
            &["--values", values_path, "--set", "rbac.credentialsSecretNamespaces={vault,zpa-system}"],
        ));
        let namespaces: BTreeSet<_> =
            elsewhere.iter().filter(|d| name(d) == "zpa-operator-credentials").filter_map(|d| namespace(d)).collect();
        assert_eq!(namespaces, BTreeSet::from(["vault", "zpa-system"]));
        let error = helm_template_error(&helm, "zpa-operator", &["--set", "watchNamespaces={a,a}"]);
        assert!(error.contains("watchNamespaces lists a namespace twice"), "{error}");
    }
}

#[test]
fn leader_election_metrics_and_provider_config() {
    for helm in helm_binaries() {
        // replicas > 1 forces leader election even with leaderElection.enabled=false.
        let docs = documents(&helm_template(&helm, "zpa-operator", &["--set", "replicas=2"]));
        assert_operator_basics(&docs);
        let deployment = find(&docs, "Deployment", RELEASE);
        assert_eq!(deployment["spec"]["replicas"], 2);
        assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
        let args = strings(&operator_container(deployment)["args"]);
        for arg in [
            "--leader-elect",
            "--leader-election-lease=zpa-operator-leader",
            "--leader-elect-lease-duration=15s",
            "--leader-elect-renew-deadline=10s",
            "--leader-elect-retry-period=2s",
        ] {
            assert!(args.contains(&arg.to_owned()), "{arg} in {args:?}");
        }
        let role = find(&docs, "Role", "zpa-operator-leader-election");
        assert_eq!(namespace(role), Some(NAMESPACE), "the Lease lives in the operator namespace");
        assert_eq!(permissions(role), leader_election_permissions("zpa-operator-leader"));
        assert_binding(
            find(&docs, "RoleBinding", "zpa-operator-leader-election"),
            "Role",
            "zpa-operator-leader-election",
        );

        let single = documents(&helm_template(&helm, "zpa-operator", &["--set", "leaderElection.enabled=true"]));
        assert!(
            strings(&operator_container(find(&single, "Deployment", RELEASE))["args"])
                .contains(&"--leader-elect".to_owned())
        );

        // ServiceMonitor, a ZpaProviderConfig, no CRDs, other knobs.
        let docs = documents(&helm_template(
            &helm,
            "zpa-operator",
            &[
                "--set",
                "crds.install=false",
                "--set",
                "metrics.serviceMonitor.enabled=true",
                "--set",
                "metrics.serviceMonitor.labels.release=prometheus",
                "--set",
                "providerConfig.create=true",
                "--set",
                "providerConfig.cloud=ZPATWO",
                "--set-string",
                "providerConfig.customerId=72057594037927936",
                "--set",
                "providerConfig.auth=oneapi",
                "--set",
                "providerConfig.vanityDomain=example",
                "--set",
                "providerConfig.credentialsSecretRef.name=zpa-api",
                "--set",
                "providerConfig.tls.caBundle=PEM",
                "--set",
                "logLevel=debug",
                "--set",
                "logFormat=json",
                "--set",
                "resyncInterval=1h",
                "--set",
                "concurrency=4",
                "--set",
                "rateLimits.reads=10",
                "--set",
                "image.tag=0.2.0",
            ],
        ));
        assert_operator_basics_except_defaults(&docs);
        assert!(of_kind(&docs, "CustomResourceDefinition").is_empty());
        let monitor = find(&docs, "ServiceMonitor", RELEASE);
        assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
        assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
        assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
        assert_eq!(
            monitor["spec"]["selector"]["matchLabels"],
            find(&docs, "Service", "zpa-operator-metrics")["spec"]["selector"]
        );
        let config = find(&docs, "ZpaProviderConfig", "default");
        assert_eq!(
            config["spec"],
            json!({
                "cloud": "ZPATWO",
                "customerId": "72057594037927936",
                "auth": "oneapi",
                "vanityDomain": "example",
                "credentialsSecretRef": {"namespace": NAMESPACE, "name": "zpa-api"},
                "tls": {"caBundle": "PEM"},
            })
        );
        assert_eq!(
            config["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
            "SkipDryRunOnMissingResource=true"
        );
        assert!(of_kind(&docs, "Secret").is_empty(), "the chart never renders credentials");
        let container = operator_container(find(&docs, "Deployment", RELEASE));
        assert_eq!(container["image"], format!("{TEST_IMAGE_REPOSITORY}:0.2.0"));
        assert_eq!(env_value(container, "ZPA_OPERATOR_LOG_LEVEL")["value"], "debug");
        assert_eq!(env_value(container, "ZPA_OPERATOR_LOG_FORMAT")["value"], "json");
        let args = strings(&container["args"]);
        for arg in ["--resync-interval=1h", "--concurrency=4", "--rate-limit-reads=10"] {
            assert!(args.contains(&arg.to_owned()), "{arg} in {args:?}");
        }

        // Values the schema or the templates refuse, with a message that says why.
        for (args, message) in [
            (vec!["--set", "logFormat=xml"], "logFormat"),
            (vec!["--set", "resyncInterval=2d"], "resyncInterval"),
            (vec!["--set", "providerConfig.customerId=72057594037927936x"], "customerId"),
            (vec!["--set", "imagePullPolicy=Always"], "imagePullPolicy"),
            (vec!["--set", "providerConfig.create=true"], "providerConfig.customerId is required"),
            (
                vec![
                    "--set",
                    "providerConfig.create=true",
                    "--set-string",
                    "providerConfig.customerId=1",
                    "--set",
                    "providerConfig.cloud=BETA",
                    "--set",
                    "providerConfig.baseUrl=http://127.0.0.1:8085",
                ],
                "set cloud or baseUrl, not both",
            ),
            (
                vec![
                    "--set",
                    "providerConfig.create=true",
                    "--set-string",
                    "providerConfig.customerId=1",
                    "--set",
                    "providerConfig.auth=oneapi",
                ],
                "auth oneapi needs vanityDomain",
            ),
            (
                vec![
                    "--set",
                    "providerConfig.create=true",
                    "--set-string",
                    "providerConfig.customerId=1",
                    "--set",
                    "providerConfig.tls.insecureSkipTLSVerify=true",
                ],
                "tls.insecureSkipTLSVerify is allowed only with baseUrl",
            ),
            (
                vec!["--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false"],
                "needs metrics.service.enabled",
            ),
        ] {
            let error = helm_template_error(&helm, "zpa-operator", &args);
            assert!(error.contains(message), "{args:?} should fail mentioning {message:?}; got: {error}");
        }
    }
}

/// The structural checks of [`assert_operator_basics`] that do not depend on default values.
fn assert_operator_basics_except_defaults(docs: &[Value]) {
    let deployment = find(docs, "Deployment", RELEASE);
    let container = operator_container(deployment);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["capabilities"], json!({"drop": ["ALL"]}));
    assert_eq!(deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"], true);
}

#[test]
fn charts_pass_helm_lint() {
    for helm in helm_binaries() {
        for (chart, args) in [
            ("zpa-operator-crds", vec![]),
            ("zpa-operator", vec![]),
            ("zpa-operator", vec!["--set", "watchNamespaces={team-a,team-b}", "--set", "replicas=2"]),
        ] {
            let mut command = Command::new(&helm);
            command.arg("lint").arg("--strict").arg(root().join("charts").join(chart)).args(&args);
            if chart == "zpa-operator" {
                command.args(["--set", &format!("image.repository={TEST_IMAGE_REPOSITORY}")]);
            }
            let output = run(&mut command);
            assert!(
                output.status.success(),
                "{helm} lint --strict {chart} {args:?}:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                stderr_of(&output)
            );
        }
        for chart in ["zpa-operator", "zpa-operator-crds"] {
            let meta = chart_metadata(chart);
            assert_eq!(
                meta["appVersion"],
                crate_version(),
                "{chart} appVersion (the default image tag) follows Cargo.toml"
            );
        }
    }
}

#[test]
fn chart_readme_documents_every_value() {
    let values: Value = serde_saphyr::from_str(&read("charts/zpa-operator/values.yaml")).expect("values parse");
    // Objects passed to Kubernetes as a whole are documented as one value.
    let opaque = ["resources", "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe"];
    let mut paths = Vec::new();
    fn walk(value: &Value, prefix: &str, opaque: &[&str], out: &mut Vec<String>) {
        match value {
            Value::Object(map) if !map.is_empty() && !opaque.contains(&prefix) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
                    walk(child, &path, opaque, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    walk(&values, "", &opaque, &mut paths);
    let readme = read("charts/zpa-operator/README.md");
    let missing: Vec<_> = paths.iter().filter(|p| !readme.contains(&format!("| `{p}` |"))).collect();
    assert!(missing.is_empty(), "charts/zpa-operator/README.md has no values-table row for {missing:?}");
    let schema: Value = serde_json::from_str(&read("charts/zpa-operator/values.schema.json")).expect("schema parses");
    let top: BTreeSet<_> = values.as_object().unwrap().keys().cloned().collect();
    let in_schema: BTreeSet<_> =
        schema["properties"].as_object().unwrap().keys().filter(|k| *k != "global").cloned().collect();
    assert_eq!(top, in_schema, "values.schema.json declares exactly the top-level values");
}

// ---------------------------------------------------------------------------
// Typed round trip: no unknown or mistyped field in any built-in object
// ---------------------------------------------------------------------------

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) -> Value {
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{} {} does not decode as its Kubernetes type: {e}", kind(doc), name(doc)));
    serde_json::to_value(typed).expect("serializes")
}

fn differences(original: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (original, typed) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(other) => differences(value, other, &format!("{path}.{key}"), out),
                    None if value.is_null() => {}
                    None => out.push(format!("{path}.{key}: unknown field (dropped by the typed decode)")),
                }
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{key}: added by the typed decode"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} became {b}")),
    }
}

fn assert_typed(doc: &Value) {
    use k8s_openapi::api::{apps, core, rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let typed = match kind(doc) {
        "Deployment" => round_trip::<apps::v1::Deployment>(doc),
        "Service" => round_trip::<core::v1::Service>(doc),
        "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(doc),
        "Namespace" => round_trip::<core::v1::Namespace>(doc),
        "ConfigMap" => round_trip::<core::v1::ConfigMap>(doc),
        "ClusterRole" => round_trip::<rbac::v1::ClusterRole>(doc),
        "ClusterRoleBinding" => round_trip::<rbac::v1::ClusterRoleBinding>(doc),
        "Role" => round_trip::<rbac::v1::Role>(doc),
        "RoleBinding" => round_trip::<rbac::v1::RoleBinding>(doc),
        "CustomResourceDefinition" => round_trip::<CustomResourceDefinition>(doc),
        "PodDisruptionBudget" => round_trip::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(doc),
        "NetworkPolicy" => round_trip::<k8s_openapi::api::networking::v1::NetworkPolicy>(doc),
        // Custom kinds: checked field by field by the tests above, and by
        // kubeconform and the API server elsewhere.
        "ServiceMonitor" | "PrometheusRule" | "ZpaProviderConfig" => return,
        other => panic!("unexpected kind {other} in a render"),
    };
    let mut found = Vec::new();
    differences(doc, &typed, "", &mut found);
    assert!(found.is_empty(), "{} {}: {found:#?}", kind(doc), name(doc));
}

/// The renders every structural check runs on.
fn representative_renders(helm: &str) -> Vec<(&'static str, String)> {
    vec![
        ("default", helm_template(helm, "zpa-operator", &[])),
        ("with the CRDs", helm_template(helm, "zpa-operator", &["--set", "crds.install=true"])),
        (
            "NetworkPolicy, PrometheusRule, Grafana dashboard, minAvailable",
            helm_template(
                helm,
                "zpa-operator",
                &[
                    "--set",
                    "networkPolicy.enabled=true",
                    "--set",
                    "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
                    "--set",
                    "networkPolicy.zpa.to[0].ipBlock.cidr=10.1.2.3/32",
                    "--set",
                    "metrics.prometheusRule.enabled=true",
                    "--set",
                    "metrics.grafanaDashboard.enabled=true",
                    "--set",
                    "podDisruptionBudget.minAvailable=50%",
                ],
            ),
        ),
        ("crds chart", helm_template(helm, "zpa-operator-crds", &[])),
        (
            "namespace-scoped, HA, ServiceMonitor, ZpaProviderConfig",
            helm_template(
                helm,
                "zpa-operator",
                &[
                    "--set",
                    "watchNamespaces={team-a,team-b}",
                    "--set",
                    "replicas=2",
                    "--set",
                    "metrics.serviceMonitor.enabled=true",
                    "--set",
                    "providerConfig.create=true",
                    "--set-string",
                    "providerConfig.customerId=72057594037927936",
                    "--set",
                    "providerConfig.baseUrl=http://zpa-simulator.zpa-system:8085",
                    "--set",
                    "nodeSelector.kubernetes\\.io/os=linux",
                    "--set",
                    "tolerations[0].key=dedicated,tolerations[0].operator=Exists,tolerations[0].effect=NoSchedule",
                    "--set",
                    "podAnnotations.example\\.com/team=platform",
                    "--set",
                    "imagePullSecrets[0].name=ghcr",
                    "--set-string",
                    "extraEnv[0].name=RUST_BACKTRACE,extraEnv[0].value=1",
                    "--set",
                    "image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000",
                ],
            ),
        ),
    ]
}

#[test]
fn rendered_objects_decode_as_kubernetes_types() {
    for helm in helm_binaries() {
        for (what, text) in representative_renders(&helm) {
            let docs = documents(&text);
            assert!(!docs.is_empty(), "{what}: empty render");
            for doc in &docs {
                assert_typed(doc);
            }
        }
        let docs = documents(&representative_renders(&helm)[4].1);
        let deployment = find(&docs, "Deployment", RELEASE);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
        assert_eq!(pod["tolerations"][0]["key"], "dedicated");
        assert_eq!(pod["imagePullSecrets"], json!([{"name": "ghcr"}]));
        assert_eq!(deployment["spec"]["template"]["metadata"]["annotations"]["example.com/team"], "platform");
        assert!(
            operator_container(deployment)["image"]
                .as_str()
                .unwrap()
                .ends_with("@sha256:0000000000000000000000000000000000000000000000000000000000000000")
        );
    }
    for file in
        ["deploy/namespace.yaml", "deploy/crds.yaml", "deploy/zpa-operator.yaml", "deploy/argocd/argocd-cm-patch.yaml"]
    {
        for doc in documents(&read(file)) {
            assert_typed(&doc);
        }
    }
}

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// The README's recipe: customerId, the image, disruptions, network policy
// ---------------------------------------------------------------------------

/// `--set providerConfig.customerId=<digits>`, as the README writes it, passes
/// the values schema and renders the same digits as a string: the simulator's
/// customer (2^56, an int64 to Helm), 19-digit ids up to and beyond int64
/// (beyond, Helm keeps the text), a leading zero; `--set-string` and a quoted
/// values-file entry too. A bare values-file number that may have lost digits
/// (above 2^53) is refused with what to write instead.
#[test]
fn customer_id_keeps_every_digit_however_it_is_given() {
    let values = tempfile::tempdir().expect("temp dir");
    for helm in helm_binaries() {
        let render = |args: &[&str]| -> Value {
            let mut all = vec!["--set", "providerConfig.create=true", "--set", "providerConfig.cloud=PRODUCTION"];
            all.extend_from_slice(args);
            let docs = documents(&helm_template(&helm, "zpa-operator", &all));
            find(&docs, "ZpaProviderConfig", "default")["spec"]["customerId"].clone()
        };
        for id in
            ["72057594037927936", "1234567890123456789", "9223372036854775807", "9999999999999999999", "0123", "7"]
        {
            let set = format!("providerConfig.customerId={id}");
            assert_eq!(render(&["--set", &set]), json!(id), "{helm}: --set {set}");
            assert_eq!(render(&["--set-string", &set]), json!(id), "{helm}: --set-string {set}");
            let file = values.path().join("quoted.yaml");
            fs::write(&file, format!("providerConfig:\n  customerId: \"{id}\"\n")).unwrap();
            assert_eq!(render(&["--values", file.to_str().unwrap()]), json!(id), "{helm}: quoted in a values file");
        }
        // A bare number in a values file: exact up to 2^53, refused above.
        let file = values.path().join("bare.yaml");
        fs::write(&file, "providerConfig:\n  customerId: 123456789\n").unwrap();
        assert_eq!(render(&["--values", file.to_str().unwrap()]), json!("123456789"));
        fs::write(&file, "providerConfig:\n  customerId: 1234567890123456789\n").unwrap();
        let error = helm_template_error(
            &helm,
            "zpa-operator",
            &["--set", "providerConfig.create=true", "--values", file.to_str().unwrap()],
        );
        assert!(error.contains("providerConfig.customerId") && error.contains("quote it"), "{helm}: {error}");
        for bad in ["12ab", "-5"] {
            let error = helm_template_error(
                &helm,
                "zpa-operator",
                &["--set", "providerConfig.create=true", "--set", &format!("providerConfig.customerId={bad}")],
            );
            assert!(error.contains("customerId"), "{helm}: {bad}: {error}");
        }
    }
}

/// The chart folder names no image (the released chart does, release/chart.sh):
/// without image.repository the render fails with one message that says how
/// to get an image, not with a placeholder registry.
#[test]
fn image_repository_is_required_with_a_clear_message() {
    for helm in helm_binaries() {
        let error = helm_template_error(&helm, "zpa-operator", &["--set", "image.repository="]);
        assert!(error.contains("image.repository is required"), "{helm}: {error}");
        assert!(error.contains("release/image.sh") && error.contains("--set image.repository="), "{helm}: {error}");
        let values = read("charts/zpa-operator/values.yaml");
        assert!(!values.contains("OWNER"), "no placeholder owner in values.yaml");
        for chart in ["zpa-operator", "zpa-operator-crds"] {
            let meta = chart_metadata(chart);
            for key in ["home", "sources"] {
                assert!(!meta[key].to_string().contains("OWNER"), "{chart} Chart.yaml {key}");
            }
        }
    }
}

/// The PodDisruptionBudget selects exactly the operator pods and lets one go
/// at a time; minAvailable replaces maxUnavailable; it can be turned off.
/// The NetworkPolicy is off by default and, when on, admits the metrics port
/// and lets out DNS, the API server and ZPA only.
#[test]
fn disruption_budget_and_network_policy() {
    for helm in helm_binaries() {
        let docs = documents(&helm_template(&helm, "zpa-operator", &[]));
        let deployment = find(&docs, "Deployment", RELEASE);
        let pdb = find(&docs, "PodDisruptionBudget", RELEASE);
        assert_eq!(pdb["apiVersion"], "policy/v1");
        assert_eq!(pdb["spec"]["maxUnavailable"], 1, "{helm}");
        assert_eq!(pdb["spec"].get("minAvailable"), None);
        assert_eq!(pdb["spec"]["selector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"]);
        assert!(of_kind(&docs, "NetworkPolicy").is_empty(), "{helm}: no NetworkPolicy by default");

        let docs = documents(&helm_template(&helm, "zpa-operator", &["--set", "podDisruptionBudget.minAvailable=1"]));
        let spec = &find(&docs, "PodDisruptionBudget", RELEASE)["spec"];
        assert_eq!((spec["minAvailable"].clone(), spec.get("maxUnavailable")), (json!(1), None));
        let docs =
            documents(&helm_template(&helm, "zpa-operator", &["--set", "podDisruptionBudget.maxUnavailable=50%"]));
        assert_eq!(find(&docs, "PodDisruptionBudget", RELEASE)["spec"]["maxUnavailable"], "50%");
        let docs = documents(&helm_template(&helm, "zpa-operator", &["--set", "podDisruptionBudget.enabled=false"]));
        assert!(of_kind(&docs, "PodDisruptionBudget").is_empty());

        let docs = documents(&helm_template(
            &helm,
            "zpa-operator",
            &[
                "--set",
                "networkPolicy.enabled=true",
                "--set",
                "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
                "--set",
                "networkPolicy.zpa.ports={443,8085}",
            ],
        ));
        let policy = find(&docs, "NetworkPolicy", RELEASE);
        let spec = &policy["spec"];
        assert_eq!(spec["podSelector"]["matchLabels"], deployment["spec"]["selector"]["matchLabels"]);
        assert_eq!(spec["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(
            spec["ingress"],
            json!([{
                "ports": [{"port": "metrics", "protocol": "TCP"}],
                "from": [{"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}],
            }]),
            "{helm}: ingress only to the metrics port"
        );
        let egress_ports: Vec<Value> = spec["egress"].as_array().unwrap().iter().map(|r| r["ports"].clone()).collect();
        assert_eq!(
            egress_ports,
            [
                json!([{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]),
                json!([{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]),
                json!([{"port": 443, "protocol": "TCP"}, {"port": 8085, "protocol": "TCP"}]),
            ],
            "{helm}: egress to DNS, the API server and ZPA only"
        );
    }
}

/// One minimum Kubernetes version everywhere: both charts' kubeVersion, the
/// READMEs and the docs say 1.25 (CEL validation rules, on by default from
/// 1.25), and the CRDs use no CEL feature newer than that.
#[test]
fn one_minimum_kubernetes_version_everywhere() {
    for chart in ["zpa-operator", "zpa-operator-crds"] {
        assert_eq!(chart_metadata(chart)["kubeVersion"], ">=1.25.0-0", "{chart}");
    }
    for (file, phrase) in [
        ("README.md", "Kubernetes 1.25 or newer"),
        ("charts/zpa-operator/README.md", "Kubernetes 1.25 or newer"),
        ("charts/zpa-operator-crds/README.md", "Kubernetes 1.25 or newer"),
    ] {
        let text = read(file);
        assert!(text.contains(phrase), "{file} says {phrase:?}");
        for other in ["1.26+", "1.27+", "1.28+", "1.29+", "1.30+", "1.30 or newer", "1.29 or newer"] {
            assert!(!text.contains(other), "{file} names another minimum: {other}");
        }
    }
    // CEL features that came after 1.25: messageExpression (1.27), reason and
    // fieldPath (1.28), optionalOldSelf (1.29). The CRDs use none of them.
    for (_, (file, text)) in crd_sources() {
        for key in ["messageExpression:", "fieldPath:", "optionalOldSelf:"] {
            assert!(!text.contains(key), "crds/{file} uses {key}, which needs a newer Kubernetes than 1.25");
        }
        let crd: Value = serde_saphyr::from_str(&text).unwrap();
        let mut rules = Vec::new();
        collect_rules(&crd, &mut rules);
        assert!(!rules.is_empty(), "crds/{file} has CEL rules");
        for rule in rules {
            let keys: BTreeSet<&str> = rule.as_object().unwrap().keys().map(String::as_str).collect();
            assert!(keys.is_subset(&BTreeSet::from(["rule", "message"])), "crds/{file}: {rule}");
        }
    }
}

fn collect_rules(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "x-kubernetes-validations" {
                    out.extend(child.as_array().into_iter().flatten().cloned());
                } else {
                    collect_rules(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_rules(item, out)),
        _ => {}
    }
}

/// The catalog's production values render, lint, and turn on what they say.
#[test]
fn catalog_production_values_render() {
    let values = root().join("docs/examples/helm/values-production.yaml");
    let values = values.to_str().unwrap();
    for helm in helm_binaries() {
        let docs = documents(&helm_template(&helm, "zpa-operator", &["--values", values]));
        let kinds: BTreeSet<&str> = docs.iter().map(kind).collect();
        for wanted in [
            "PodDisruptionBudget",
            "NetworkPolicy",
            "PrometheusRule",
            "ServiceMonitor",
            "ConfigMap",
            "ZpaProviderConfig",
        ] {
            assert!(kinds.contains(wanted), "{helm}: values-production.yaml renders a {wanted}: {kinds:?}");
        }
        let deployment = find(&docs, "Deployment", RELEASE);
        assert_eq!(deployment["spec"]["replicas"], 2);
        assert!(strings(&operator_container(deployment)["args"]).contains(&"--leader-elect".to_owned()));
        assert_eq!(find(&docs, "ZpaProviderConfig", "default")["spec"]["customerId"], "72057594037927936");
        let output = run(Command::new(&helm)
            .arg("lint")
            .arg("--strict")
            .arg(root().join("charts/zpa-operator"))
            .args(["--values", values]));
        assert!(output.status.success(), "{helm} lint with values-production.yaml: {}", stderr_of(&output));
    }
}
