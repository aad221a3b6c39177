//! Packaging checks: the Helm charts, the plain manifests of `deploy/`, the
//! Argo CD health checks, and the Dockerfile.
//!
//! Tools: `helm` (3.x or 4.x; `deploy/install-helm.sh` installs the pinned
//! one, `ZPA_HELM` may name one or more binaries, space-separated) and
//! `kubectl` on PATH. A missing tool fails the test with a hint; nothing is
//! skipped. No network: `kubectl` talks to a discovery stub on loopback.
//!
//! What this proves and what it does not:
//! - the charts render with the real `helm template` and pass `helm lint --strict`;
//! - every rendered built-in object survives a round trip through the
//!   k8s-openapi types (no unknown or mistyped field), and `kubectl apply
//!   --dry-run=client` maps every document to a served kind;
//! - RBAC is exactly the expected least-privilege rule set, per install mode;
//! - the CRDs in both charts are byte-identical to `crds/` plus the keep annotation;
//! - `deploy/` is what `deploy/generate.sh` writes now;
//! - the Argo CD Lua scripts give the expected health for every test object,
//!   under Lua 5.1 with only the base, table and package libraries (as Argo CD
//!   runs custom checks), and every `return` of the scripts is exercised;
//! - the chart's ZpaProviderConfig and the specs of the Argo CD test objects
//!   pass the CRDs' schema and CEL rules on the test-only API stand-in.
//!
//! Not proven: nothing is installed on a real API server (there is no cluster
//! here), so admission, scheduling, probes against a running pod, and whether
//! the operator gets by with exactly these RBAC rules at run time are not
//! exercised; the Argo CD scripts run in mlua's Lua 5.1, not in Argo CD's
//! gopher-lua; the Dockerfile is checked as text, not built.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Tools and files
// ---------------------------------------------------------------------------

const NAMESPACE: &str = "zpa-system";
const RELEASE: &str = "zpa-operator";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The Helm binaries to test with: `$ZPA_HELM` (space-separated) or `helm`.
fn helm_binaries() -> Vec<String> {
    let configured = std::env::var("ZPA_HELM").unwrap_or_default();
    let binaries: Vec<String> = configured.split_whitespace().map(str::to_owned).collect();
    let binaries = if binaries.is_empty() { vec!["helm".to_owned()] } else { binaries };
    for helm in &binaries {
        require_tool(helm, &["version", "--short"], "install it with `bash deploy/install-helm.sh` (or set ZPA_HELM)");
    }
    binaries
}

fn require_tool(tool: &str, args: &[&str], hint: &str) {
    match Command::new(tool).args(args).output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!("`{tool} {}` failed: {}; {hint}", args.join(" "), String::from_utf8_lossy(&output.stderr)),
        Err(e) => panic!("`{tool}` is required by tests/packaging.rs but cannot run ({e}); {hint}"),
    }
}

fn run(command: &mut Command) -> Output {
    let described = format!("{command:?}");
    command.output().unwrap_or_else(|e| panic!("cannot run {described}: {e}"))
}

fn stderr_of(output: &Output) -> String {
    // Helm notes that crd-sources is a symlink on every render; not an error.
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.to_lowercase().contains("found symbolic link"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `helm template RELEASE CHART -n zpa-system ARGS...`; panics on failure.
fn helm_template(helm: &str, chart: &str, args: &[&str]) -> String {
    let chart_dir = root().join("charts").join(chart);
    let output = run(Command::new(helm)
        .arg("template")
        .arg(RELEASE)
        .arg(&chart_dir)
        .args(["--namespace", NAMESPACE])
        .args(args));
    assert!(output.status.success(), "helm template {chart} {args:?} failed:\n{}", stderr_of(&output));
    String::from_utf8(output.stdout).expect("helm output is UTF-8")
}

/// The error of a render that must fail.
fn helm_template_error(helm: &str, chart: &str, args: &[&str]) -> String {
    let chart_dir = root().join("charts").join(chart);
    let output = run(Command::new(helm)
        .arg("template")
        .arg(RELEASE)
        .arg(&chart_dir)
        .args(["--namespace", NAMESPACE])
        .args(args));
    assert!(!output.status.success(), "helm template {chart} {args:?} should have failed");
    stderr_of(&output)
}

/// Every non-empty YAML document of `text`, as JSON.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{text}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace(doc: &Value) -> Option<&str> {
    doc["metadata"]["namespace"].as_str()
}

fn find<'a>(docs: &'a [Value], wanted_kind: &str, wanted_name: &str) -> &'a Value {
    docs.iter()
        .find(|d| kind(d) == wanted_kind && name(d) == wanted_name)
        .unwrap_or_else(|| panic!("no {wanted_kind} {wanted_name} in the render; have {:?}", summary(docs)))
}

fn of_kind<'a>(docs: &'a [Value], wanted: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == wanted).collect()
}

/// "Kind namespace/name" of every document, sorted.
fn summary(docs: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = docs
        .iter()
        .map(|d| match namespace(d) {
            Some(ns) => format!("{} {ns}/{}", kind(d), name(d)),
            None => format!("{} {}", kind(d), name(d)),
        })
        .collect();
    out.sort();
    out
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

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
    serde_yaml::from_str(&read(format!("charts/{chart}/Chart.yaml"))).expect("Chart.yaml parses")
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
    assert_eq!(
        container["image"],
        format!("ghcr.io/OWNER/zpa-operator:{appversion}"),
        "the tag defaults to appVersion"
    );
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
fn crd_sources() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(root().join("crds")).expect("crds/ exists") {
        let path = entry.expect("crds/ entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("CRD file reads");
        let doc: Value = serde_yaml::from_str(&text).expect("CRD file parses");
        let body = text.strip_prefix("---\n").unwrap_or(&text).trim().to_owned();
        out.insert(name(&doc).to_owned(), (path.file_name().unwrap().to_string_lossy().into_owned(), body));
    }
    assert_eq!(out.len(), 3, "crds/ holds the three CRDs");
    out
}

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
        let doc: Value = serde_yaml::from_str(&raw).expect("rendered document parses");
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
        let source_doc: Value = serde_yaml::from_str(source).expect("source parses");
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

        let operator = helm_template(&helm, "zpa-operator", &[]);
        assert_crds_match_sources(&operator, "zpa-operator (crds.install=true)");

        let without = helm_template(&helm, "zpa-operator", &["--set", "crds.install=false"]);
        assert!(
            of_kind(&documents(&without), "CustomResourceDefinition").is_empty(),
            "crds.install=false renders no CRD"
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
            let output =
                run(Command::new(&helm).arg("template").arg(RELEASE).arg(&archive).args(["--namespace", NAMESPACE]));
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
                "CustomResourceDefinition isolationprofiles.zpa.operator.dev",
                "CustomResourceDefinition microtenants.zpa.operator.dev",
                "CustomResourceDefinition zpaproviderconfigs.zpa.operator.dev",
                "Deployment zpa-system/zpa-operator",
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
        assert_eq!(container["image"], "ghcr.io/OWNER/zpa-operator:0.2.0");
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
            (vec!["--set", "providerConfig.customerId=72057594037927936"], "customerId"),
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
            let output =
                run(Command::new(&helm).arg("lint").arg("--strict").arg(root().join("charts").join(chart)).args(&args));
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
    let values: serde_yaml::Value =
        serde_yaml::from_str(&read("charts/zpa-operator/values.yaml")).expect("values parse");
    // Objects passed to Kubernetes as a whole are documented as one value.
    let opaque = ["resources", "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe"];
    let mut paths = Vec::new();
    fn walk(value: &serde_yaml::Value, prefix: &str, opaque: &[&str], out: &mut Vec<String>) {
        match value {
            serde_yaml::Value::Mapping(map) if !map.is_empty() && !opaque.contains(&prefix) => {
                for (key, child) in map {
                    let key = key.as_str().expect("string keys");
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
    let top: BTreeSet<_> = values.as_mapping().unwrap().keys().map(|k| k.as_str().unwrap().to_owned()).collect();
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
        // Custom kinds: checked field by field by the tests above.
        "ServiceMonitor" | "ZpaProviderConfig" => return,
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
        let docs = documents(&representative_renders(&helm)[2].1);
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
// kubectl: a discovery stub on loopback, then `kubectl apply --dry-run=client`
// ---------------------------------------------------------------------------
//
// `kubectl apply --dry-run=client` is not offline: kubectl resolves every
// document's kind through the server's discovery API (its RESTMapper) and GETs
// each object to choose between create and patch; `kubectl create
// --dry-run=client` needs discovery too. With no server both fail ("couldn't
// get current server API group list ... connection refused"). So the test
// serves discovery for the kinds a render may hold and 404 for objects, on
// loopback, and points a throwaway kubeconfig at it. What kubectl then proves:
// every document parses, has a served apiVersion/kind and a name, and
// `kubectl apply -k deploy/` builds. Schema validation is the typed round trip
// above (and, for the custom kinds, the API stand-in test below).

/// (group, version, plural, kind, namespaced) of every kind a render may hold.
fn served_kinds() -> Vec<(String, String, String, String, bool)> {
    let mut kinds: Vec<(String, String, String, String, bool)> = [
        ("", "v1", "namespaces", "Namespace", false),
        ("", "v1", "serviceaccounts", "ServiceAccount", true),
        ("", "v1", "services", "Service", true),
        ("", "v1", "secrets", "Secret", true),
        ("", "v1", "configmaps", "ConfigMap", true),
        ("apps", "v1", "deployments", "Deployment", true),
        ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
        ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
        ("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
        ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
        ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
        ("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", true),
    ]
    .into_iter()
    .map(|(g, v, p, k, n)| (g.to_owned(), v.to_owned(), p.to_owned(), k.to_owned(), n))
    .collect();
    // The operator's own kinds, straight from crds/.
    for (_, (_, text)) in crd_sources() {
        let crd: Value = serde_yaml::from_str(&text).expect("CRD parses");
        let spec = &crd["spec"];
        for version in spec["versions"].as_array().expect("versions") {
            kinds.push((
                spec["group"].as_str().unwrap().to_owned(),
                version["name"].as_str().unwrap().to_owned(),
                spec["names"]["plural"].as_str().unwrap().to_owned(),
                spec["names"]["kind"].as_str().unwrap().to_owned(),
                spec["scope"] == "Namespaced",
            ));
        }
    }
    kinds
}

/// Serves legacy (non-aggregated) discovery for [`served_kinds`] and answers
/// 404 to everything else, so that `kubectl apply --dry-run=client` sees every
/// object as new. Records the paths it was asked for.
struct DiscoveryStub {
    /// Serves until dropped.
    _runtime: tokio::runtime::Runtime,
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl DiscoveryStub {
    fn start() -> Self {
        use axum::http::{StatusCode, Uri, header};
        use axum::response::IntoResponse;

        let kinds = served_kinds();
        let mut groups: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
        for (group, version, plural, kind, namespaced) in &kinds {
            groups.entry(group.clone()).or_default().entry(version.clone()).or_default().push(json!({
                "name": plural,
                "singularName": kind.to_lowercase(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            }));
        }
        let mut routes: BTreeMap<String, Value> = BTreeMap::new();
        routes.insert(
            "/version".into(),
            json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"}),
        );
        routes.insert(
            "/api".into(),
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        );
        let mut group_list = Vec::new();
        for (group, versions) in &groups {
            for (version, resources) in versions {
                let group_version = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
                let path = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group_version}") };
                routes.insert(path, json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}));
            }
            if !group.is_empty() {
                let versions: Vec<Value> =
                    versions.keys().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
                group_list.push(json!({"name": group, "versions": versions, "preferredVersion": versions[0]}));
            }
        }
        routes.insert("/apis".into(), json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": group_list}));
        let routes = Arc::new(routes);
        let requests = Arc::new(Mutex::new(Vec::new()));

        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = requests.clone();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let routes = routes.clone();
            let seen = seen.clone();
            async move {
                let path = uri.path().to_owned();
                seen.lock().unwrap().push(path.clone());
                let json_type = [(header::CONTENT_TYPE, "application/json")];
                match routes.get(path.trim_end_matches('/')) {
                    Some(body) => (StatusCode::OK, json_type, body.to_string()).into_response(),
                    None => {
                        let status = json!({
                            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": format!("{path} not found"), "reason": "NotFound", "code": 404,
                        });
                        (StatusCode::NOT_FOUND, json_type, status.to_string()).into_response()
                    }
                }
            }
        });
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        DiscoveryStub { _runtime: runtime, url, requests }
    }

    fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster:\n    server: {}\ncontexts:\n- name: stub\n  context:\n    cluster: stub\n    user: stub\n    namespace: default\ncurrent-context: stub\nusers:\n- name: stub\n  user: {{}}\n",
            self.url
        );
        fs::write(&path, config).expect("write kubeconfig");
        path
    }
}

/// `kubectl apply --dry-run=client --validate=false` against the stub.
/// Returns stdout; panics with kubectl's stderr on failure.
fn kubectl_dry_run(kubeconfig: &Path, cache: &Path, source: &[&str]) -> String {
    let output = run(Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(["apply", "--dry-run=client", "--validate=false", "--request-timeout=20s", "--cache-dir"])
        .arg(cache)
        .args(source));
    assert!(
        output.status.success(),
        "kubectl apply --dry-run=client {source:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// kubectl's "created (dry run)" lines, sorted.
fn created_lines(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// What kubectl prints for creating `docs`: "kind[.group]/name created (dry run)".
fn expected_lines(docs: &[Value]) -> Vec<String> {
    let mut lines: Vec<String> = docs
        .iter()
        .map(|d| {
            let api_version = d["apiVersion"].as_str().unwrap_or_default();
            let resource = match api_version.split_once('/') {
                Some((group, _)) => format!("{}.{group}", kind(d).to_lowercase()),
                None => kind(d).to_lowercase(),
            };
            format!("{resource}/{} created (dry run)", name(d))
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn kubectl_client_dry_run_accepts_renders_and_kustomization() {
    require_tool("kubectl", &["version", "--client"], "kubectl (1.32 or newer) must be on PATH");
    let helm = helm_binaries().remove(0);
    let stub = DiscoveryStub::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = stub.kubeconfig(dir.path());
    let cache = dir.path().join("cache");

    for (what, text) in representative_renders(&helm) {
        let file = dir.path().join("render.yaml");
        fs::write(&file, &text).expect("write render");
        let out = kubectl_dry_run(&kubeconfig, &cache, &["-f", file.to_str().unwrap()]);
        assert_eq!(
            created_lines(&out),
            expected_lines(&documents(&text)),
            "{what}: kubectl creates every document (dry run)"
        );
    }

    let out = kubectl_dry_run(&kubeconfig, &cache, &["-k", root().join("deploy").to_str().unwrap()]);
    let mut expected: Vec<Value> = Vec::new();
    for file in ["deploy/namespace.yaml", "deploy/crds.yaml", "deploy/zpa-operator.yaml"] {
        expected.extend(documents(&read(file)));
    }
    assert_eq!(
        created_lines(&out),
        expected_lines(&expected),
        "kubectl apply -k deploy/ creates every document (dry run)"
    );
    let requests = stub.requests.lock().unwrap().clone();
    assert!(requests.iter().any(|p| p == "/apis/apps/v1"), "kubectl used the stub's discovery: {requests:?}");
}

// ---------------------------------------------------------------------------
// deploy/: generated, fresh, and the operator chart's default render
// ---------------------------------------------------------------------------

const GENERATED: [&str; 5] =
    ["namespace.yaml", "crds.yaml", "zpa-operator.yaml", "kustomization.yaml", "argocd/argocd-cm-patch.yaml"];

#[test]
fn deploy_dir_is_a_fresh_render() {
    let helm = helm_binaries().remove(0);
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(Command::new("bash").arg(root().join("deploy/generate.sh")).arg(dir.path()).env("HELM", &helm));
    assert!(output.status.success(), "deploy/generate.sh failed:\n{}", String::from_utf8_lossy(&output.stderr));
    for file in GENERATED {
        let fresh =
            fs::read_to_string(dir.path().join(file)).unwrap_or_else(|e| panic!("generate.sh wrote no {file}: {e}"));
        let committed = read(format!("deploy/{file}"));
        assert!(fresh == committed, "deploy/{file} is stale: run deploy/generate.sh and commit the result");
    }

    // crds.yaml + zpa-operator.yaml are exactly the default render of the operator chart.
    let mut split: Vec<Value> = documents(&read("deploy/crds.yaml"));
    split.extend(documents(&read("deploy/zpa-operator.yaml")));
    let mut default = documents(&helm_template(&helm, "zpa-operator", &[]));
    let key = |d: &Value| serde_json::to_string(d).unwrap();
    split.sort_by_key(key);
    default.sort_by_key(key);
    assert_eq!(split, default, "deploy/ = the operator chart's default render, CRDs in their own file");
    assert_crds_match_sources(&read("deploy/crds.yaml"), "deploy/crds.yaml");

    let namespace_doc = &documents(&read("deploy/namespace.yaml"))[0];
    assert_eq!(kind(namespace_doc), "Namespace");
    assert_eq!(name(namespace_doc), NAMESPACE);
    assert_eq!(
        namespace_doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted",
        "the operator pod meets the restricted Pod Security Standard"
    );

    // The kustomization builds offline and lists every manifest.
    let kustomization: Value = serde_yaml::from_str(&read("deploy/kustomization.yaml")).expect("kustomization parses");
    assert_eq!(kustomization["resources"], json!(["namespace.yaml", "crds.yaml", "zpa-operator.yaml"]));
    require_tool("kubectl", &["version", "--client"], "kubectl (1.32 or newer) must be on PATH");
    let built = run(Command::new("kubectl").arg("kustomize").arg(root().join("deploy")));
    assert!(built.status.success(), "kubectl kustomize deploy/: {}", String::from_utf8_lossy(&built.stderr));
    let built = documents(&String::from_utf8(built.stdout).expect("UTF-8"));
    let mut expected = documents(&read("deploy/namespace.yaml"));
    expected.extend(split);
    assert_eq!(summary(&built), summary(&expected), "kubectl kustomize deploy/ yields every manifest");
}

// ---------------------------------------------------------------------------
// Argo CD health checks
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct HealthTests {
    tests: Vec<HealthTest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthTest {
    health_status: HealthStatus,
    input_path: String,
}

#[derive(Deserialize, Debug, PartialEq)]
struct HealthStatus {
    status: String,
    message: String,
}

/// JSON as Argo CD hands it to Lua: objects and arrays become tables
/// (arrays 1-based), numbers numbers, null nil.
fn to_lua(lua: &mlua::Lua, value: &Value) -> mlua::Result<mlua::Value> {
    Ok(match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().expect("finite number")),
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(items) => {
            let table = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            mlua::Value::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table()?;
            for (key, item) in map {
                table.raw_set(key.as_str(), to_lua(lua, item)?)?;
            }
            mlua::Value::Table(table)
        }
    })
}

/// Runs a health script the way Argo CD runs a custom check: a fresh Lua
/// state with only the base, table and package libraries, `obj` as a global,
/// the chunk's return value read as {status, message}. Records executed lines.
fn run_health_script(script: &str, object: &Value, lines: &Arc<Mutex<BTreeSet<usize>>>) -> HealthStatus {
    let lua = mlua::Lua::new_with(mlua::StdLib::TABLE | mlua::StdLib::PACKAGE, mlua::LuaOptions::default())
        .expect("Lua state");
    let seen = lines.clone();
    lua.set_hook(mlua::HookTriggers::EVERY_LINE, move |_, debug| {
        if let Some(line) = debug.current_line() {
            seen.lock().unwrap().insert(line);
        }
        Ok(mlua::VmState::Continue)
    })
    .expect("line hook");
    lua.globals().set("obj", to_lua(&lua, object).expect("object converts")).expect("set obj");
    let result: mlua::Table = lua
        .load(script)
        .set_name("health.lua")
        .eval()
        .unwrap_or_else(|e| panic!("health script failed on {}: {e}", name(object)));
    let status: String = result.get("status").expect("status is a string");
    let message: String = result.get("message").expect("message is a string");
    HealthStatus { status, message }
}

fn check_health_script(script_file: &str, tests_file: &str) -> BTreeSet<String> {
    let script = read(format!("deploy/argocd/{script_file}"));
    let tests: HealthTests = serde_yaml::from_str(&read(format!("deploy/argocd/{tests_file}"))).expect("tests parse");
    assert!(!tests.tests.is_empty(), "{tests_file} has tests");
    let lines = Arc::new(Mutex::new(BTreeSet::new()));
    let mut inputs = BTreeSet::new();
    let mut failures = Vec::new();
    for test in &tests.tests {
        let object: Value = serde_yaml::from_str(&read(format!("deploy/argocd/{}", test.input_path)))
            .unwrap_or_else(|e| panic!("{}: {e}", test.input_path));
        assert!(
            ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]
                .contains(&test.health_status.status.as_str()),
            "{}: {} is not an Argo CD health status",
            test.input_path,
            test.health_status.status
        );
        let got = run_health_script(&script, &object, &lines);
        if got != test.health_status {
            failures.push(format!("{}: expected {:?}, got {:?}", test.input_path, test.health_status, got));
        }
        assert!(inputs.insert(test.input_path.clone()), "{} listed twice in {tests_file}", test.input_path);
    }
    assert!(failures.is_empty(), "{script_file}:\n{}", failures.join("\n"));

    // Every way out of the script is taken by some test object.
    let executed = lines.lock().unwrap().clone();
    let untested: Vec<String> = script
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("return result("))
        .filter(|(i, _)| !executed.contains(&(i + 1)))
        .map(|(i, line)| format!("line {}: {}", i + 1, line.trim()))
        .collect();
    assert!(untested.is_empty(), "{script_file}: no test reaches {untested:#?}");
    inputs
}

#[test]
fn argocd_health_checks_give_expected_status() {
    let mut inputs = check_health_script("health.lua", "health_test.yaml");
    inputs.extend(check_health_script("provider-config-health.lua", "provider-config-health_test.yaml"));

    // Every test object is used, and the managed-kind script covers both kinds.
    let mut on_disk = BTreeSet::new();
    for entry in fs::read_dir(root().join("deploy/argocd/testdata")).expect("testdata/") {
        on_disk.insert(format!("testdata/{}", entry.expect("entry").file_name().to_string_lossy()));
    }
    assert_eq!(inputs, on_disk, "every file of deploy/argocd/testdata is a test input, and only those");
    let tests: HealthTests = serde_yaml::from_str(&read("deploy/argocd/health_test.yaml")).unwrap();
    let kinds: BTreeSet<String> = tests
        .tests
        .iter()
        .map(|t| {
            let object: Value = serde_yaml::from_str(&read(format!("deploy/argocd/{}", t.input_path))).unwrap();
            kind(&object).to_owned()
        })
        .collect();
    assert_eq!(kinds, BTreeSet::from(["IsolationProfile".to_owned(), "Microtenant".to_owned()]));
}

#[test]
fn argocd_cm_patch_embeds_the_scripts() {
    let patch: Value = serde_yaml::from_str(&read("deploy/argocd/argocd-cm-patch.yaml")).expect("patch parses");
    assert_eq!(kind(&patch), "ConfigMap");
    assert_eq!(name(&patch), "argocd-cm");
    let health = read("deploy/argocd/health.lua");
    let provider = read("deploy/argocd/provider-config-health.lua");
    assert_eq!(
        patch["data"],
        json!({
            "resource.customizations.health.zpa.operator.dev_IsolationProfile": health,
            "resource.customizations.health.zpa.operator.dev_Microtenant": health,
            "resource.customizations.health.zpa.operator.dev_ZpaProviderConfig": provider,
        }),
        "argocd-cm-patch.yaml embeds the Lua files verbatim (run deploy/generate.sh)"
    );
}

// ---------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------

#[test]
fn dockerfile_builds_only_the_operator_onto_distroless_nonroot() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<String> =
        dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect();
    let stages: Vec<&String> = instructions.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(stages.len() >= 2, "multi-stage build");
    let last_stage = stages.last().unwrap();
    assert!(
        last_stage.as_str() == "FROM gcr.io/distroless/cc-debian12:nonroot"
            || last_stage.as_str() == "FROM gcr.io/distroless/static-debian12:nonroot",
        "final stage is distroless nonroot: {last_stage}"
    );
    let final_stage: Vec<&String> = instructions.iter().skip_while(|l| l != last_stage).collect();
    let copies: Vec<&&String> = final_stage.iter().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(copies.len(), 1, "the final stage copies one thing: {copies:?}");
    assert!(copies[0].ends_with(" /zpa-operator") && copies[0].contains("--from=builder"), "{}", copies[0]);
    assert!(copies[0].contains("/zpa-operator /zpa-operator"), "only the zpa-operator binary: {}", copies[0]);
    assert!(final_stage.iter().any(|l| l.as_str() == "USER 65532:65532"), "runs as 65532");
    assert!(final_stage.iter().any(|l| l.as_str() == r#"ENTRYPOINT ["/zpa-operator"]"#));
    assert!(final_stage.iter().any(|l| l.as_str() == r#"CMD ["run"]"#));
    assert!(
        dockerfile.contains("cargo build --release --locked --package zpa-operator --bin zpa-operator"),
        "the builder compiles only the zpa-operator binary"
    );
    assert!(!dockerfile.contains("kube-standin /"), "no test-support binary is copied");

    let ignore = read(".dockerignore");
    for pattern in ["target", ".git", "charts", "deploy", "tests/*", "!tests/kube-standin"] {
        assert!(ignore.lines().any(|l| l.trim() == pattern), ".dockerignore has {pattern}");
    }
    let readme = read("charts/zpa-operator/README.md");
    assert!(
        readme.contains("docker build -t ghcr.io/OWNER/zpa-operator:0.1.0 ."),
        "the chart README shows the image build"
    );
}

// ---------------------------------------------------------------------------
// Rendered and test objects against the CRD schemas (the API stand-in)
// ---------------------------------------------------------------------------

/// The chart's ZpaProviderConfig in its variants, and the spec of every Argo
/// CD test object, pass the CRDs' OpenAPI and CEL validation, as served by the
/// test-only API stand-in (`tests/kube-standin`).
#[tokio::test]
async fn rendered_provider_configs_and_health_testdata_satisfy_the_crds() {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};

    let helm = helm_binaries().remove(0);
    let standin = kube_standin::start(kube_standin::StandInConfig::default()).await.expect("stand-in starts");
    let client = standin.kube_client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut plurals = BTreeMap::new();
    for (_, (_, text)) in crd_sources() {
        let crd: CustomResourceDefinition = serde_yaml::from_str(&text).expect("CRD decodes");
        plurals.insert(crd.spec.names.kind.clone(), crd.spec.names.plural.clone());
        crds.create(&PostParams::default(), &crd).await.expect("the stand-in accepts the CRD");
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let team_a: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    namespaces.create(&PostParams::default(), &team_a).await.expect("namespace team-a");

    let create = |object: Value| {
        let client = client.clone();
        let plurals = plurals.clone();
        async move {
            let (group, version) = object["apiVersion"].as_str().unwrap().split_once('/').unwrap();
            let gvk = GroupVersionKind::gvk(group, version, kind(&object));
            let resource = ApiResource::from_gvk_with_plural(&gvk, &plurals[kind(&object)]);
            let api: Api<DynamicObject> = match namespace(&object) {
                Some(ns) => Api::namespaced_with(client, ns, &resource),
                None => Api::all_with(client, &resource),
            };
            let typed: DynamicObject = serde_json::from_value(object.clone()).expect("dynamic object");
            api.create(&PostParams::default(), &typed).await.map(|_| ()).map_err(|e| e.to_string())
        }
    };

    let variants: [&[&str]; 3] = [
        &["--set", "providerConfig.cloud=PRODUCTION", "--set", "providerConfig.name=legacy"],
        &[
            "--set",
            "providerConfig.name=oneapi",
            "--set",
            "providerConfig.auth=oneapi",
            "--set",
            "providerConfig.vanityDomain=example",
            "--set",
            "providerConfig.credentialsSecretRef.keys.clientId=id",
            "--set",
            "providerConfig.credentialsSecretRef.keys.clientSecret=secret",
            "--set",
            "providerConfig.rateLimits.readsPerWindow=10",
            "--set",
            "providerConfig.rateLimits.writesPerWindow=5",
            "--set",
            "providerConfig.rateLimits.windowSeconds=10",
        ],
        &[
            "--set",
            "providerConfig.baseUrl=http://zpa-simulator.zpa-system:8085",
            "--set",
            "providerConfig.name=simulator",
        ],
    ];
    for variant in variants {
        let mut args = vec!["--set", "crds.install=false", "--set", "providerConfig.create=true"];
        args.extend(["--set-string", "providerConfig.customerId=72057594037927936"]);
        args.extend_from_slice(variant);
        let docs = documents(&helm_template(&helm, "zpa-operator", &args));
        let config = of_kind(&docs, "ZpaProviderConfig");
        assert_eq!(config.len(), 1, "{variant:?}");
        if let Err(error) = create(config[0].clone()).await {
            panic!("the CRD refuses the chart's ZpaProviderConfig ({variant:?}): {error}");
        }
    }

    // The spec of every Argo CD test object is one a user could apply.
    for entry in fs::read_dir(root().join("deploy/argocd/testdata")).expect("testdata/") {
        let path = entry.expect("entry").path();
        let object: Value = serde_yaml::from_str(&fs::read_to_string(&path).expect("reads")).expect("parses");
        let unique = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut metadata = json!({"name": unique});
        if let Some(ns) = namespace(&object) {
            metadata["namespace"] = json!(ns);
        }
        if let Some(annotations) = object["metadata"].get("annotations") {
            metadata["annotations"] = annotations.clone();
        }
        let clean = json!({
            "apiVersion": object["apiVersion"],
            "kind": object["kind"],
            "metadata": metadata,
            "spec": object["spec"],
        });
        if let Err(error) = create(clean).await {
            panic!("{}: the CRD refuses its spec: {error}", path.display());
        }
    }
    standin.shutdown().await;
}

// ---------------------------------------------------------------------------
// The real binary with the chart's arguments and environment
// ---------------------------------------------------------------------------

/// `GET path` on loopback; the HTTP status code, if anything answered.
async fn http_status(port: u16, path: &str) -> Option<(u16, String)> {
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

/// `zpa-operator` started with the container args and env of the chart's
/// Deployment (downward API values filled in as the kubelet would; only the
/// listen address moved to a free loopback port), against the API stand-in
/// with the CRDs installed.
struct ChartOperator {
    standin: kube_standin::RunningStandIn,
    client: kube::Client,
    child: tokio::process::Child,
    port: u16,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

const POD_NAME: &str = "zpa-operator-5d9c7f6b8-x2k4q";

impl ChartOperator {
    async fn start(helm: &str, values: &[&str]) -> Self {
        use k8s_openapi::api::core::v1::Namespace;
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        use kube::api::{Api, PostParams};

        let standin = kube_standin::start(kube_standin::StandInConfig::default()).await.expect("stand-in starts");
        let client = standin.kube_client();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for (_, (_, text)) in crd_sources() {
            let crd: CustomResourceDefinition = serde_yaml::from_str(&text).expect("CRD decodes");
            crds.create(&PostParams::default(), &crd).await.expect("CRD accepted");
        }
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for ns in [NAMESPACE, "team-a", "team-b"] {
            let object: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
            namespaces.create(&PostParams::default(), &object).await.expect("namespace");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        standin.write_kubeconfig(&kubeconfig).expect("kubeconfig");

        let docs = documents(&helm_template(helm, "zpa-operator", values));
        let container = operator_container(find(&docs, "Deployment", RELEASE)).clone();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let chart_port = container["ports"][0]["containerPort"].as_u64().expect("containerPort");
        let chart_listen = format!("--metrics-listen=0.0.0.0:{chart_port}");
        let args: Vec<String> = strings(&container["args"])
            .into_iter()
            .map(|a| if a == chart_listen { format!("--metrics-listen=127.0.0.1:{port}") } else { a })
            .collect();
        assert!(
            args.contains(&format!("--metrics-listen=127.0.0.1:{port}")),
            "the chart sets {chart_listen}: {args:?}"
        );
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_zpa-operator"));
        command.args(&args).env_clear().env("KUBECONFIG", &kubeconfig).kill_on_drop(true);
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        for env in container["env"].as_array().expect("env") {
            let value = match (&env["value"], env["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
                (Value::String(value), _) => value.clone(),
                (_, Some("metadata.name")) => POD_NAME.to_owned(),
                (_, Some("metadata.namespace")) => NAMESPACE.to_owned(),
                other => panic!("unexpected env source {other:?}"),
            };
            command.env(env["name"].as_str().unwrap(), value);
        }
        let child = command.spawn().expect("zpa-operator starts");
        ChartOperator { standin, client, child, port, args, _dir: dir }
    }

    /// Polls `GET path` for up to 30 s until it answers 200; the last answer.
    async fn get_until_ok(&mut self, path: &str) -> (u16, String) {
        let mut last = None;
        for _ in 0..150 {
            last = http_status(self.port, path).await;
            if last.as_ref().is_some_and(|(code, _)| *code == 200) {
                break;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                use tokio::io::AsyncReadExt;
                let mut stderr = String::new();
                self.child.stderr.take().unwrap().read_to_string(&mut stderr).await.ok();
                panic!("zpa-operator exited ({status}) with the chart's args {:?}:\n{stderr}", self.args);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        last.unwrap_or_else(|| panic!("nothing answers {path} on the metrics port"))
    }

    async fn stop(mut self) {
        self.child.kill().await.expect("stop zpa-operator");
        self.standin.shutdown().await;
    }
}

/// The chart's values variants the binary is started with.
const BINARY_VARIANTS: [&[&str]; 2] = [&[], &["--set", "watchNamespaces={team-a,team-b}", "--set", "replicas=2"]];

/// The binary accepts the chart's arguments and environment, serves the
/// liveness probe path and /metrics on the chart's port, and with leader
/// election holds the chart's Lease in the release namespace as POD_NAME.
#[tokio::test]
async fn operator_binary_runs_with_the_chart_args_and_serves_liveness_and_metrics() {
    use k8s_openapi::api::coordination::v1::Lease;
    use kube::api::Api;

    let helm = helm_binaries().remove(0);
    let liveness = documents(&helm_template(&helm, "zpa-operator", &[]));
    let liveness = operator_container(find(&liveness, "Deployment", RELEASE))["livenessProbe"]["httpGet"]["path"]
        .as_str()
        .expect("liveness path")
        .to_owned();
    for values in BINARY_VARIANTS {
        let mut operator = ChartOperator::start(&helm, values).await;
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
            let leases: Api<Lease> = Api::namespaced(operator.client.clone(), NAMESPACE);
            let mut holder = None;
            for _ in 0..100 {
                holder = leases.get_opt(&lease_name).await.ok().flatten().and_then(|l| l.spec?.holder_identity);
                if holder.is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            assert_eq!(holder.as_deref(), Some(POD_NAME), "Lease {NAMESPACE}/{lease_name} is held by POD_NAME");
        }
        operator.stop().await;
    }
}

/// The readiness probe path answers 200 once the caches are synced (or the
/// replica stands by for the Lease), as the chart's readinessProbe expects.
#[tokio::test]
async fn operator_binary_turns_ready_on_the_chart_readiness_probe() {
    let helm = helm_binaries().remove(0);
    let docs = documents(&helm_template(&helm, "zpa-operator", &[]));
    let readiness = operator_container(find(&docs, "Deployment", RELEASE))["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .expect("readiness path")
        .to_owned();
    for values in BINARY_VARIANTS {
        let mut operator = ChartOperator::start(&helm, values).await;
        let (code, body) = operator.get_until_ok(&readiness).await;
        assert_eq!(code, 200, "{values:?}: GET {readiness} never answered 200 within 30 s:\n{body}");
        operator.stop().await;
    }
}
