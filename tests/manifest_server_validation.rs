//! What the real API server says about the manifests users meet first,
//! through the Go-built kubectl with `apply --dry-run=server` (admission, the
//! CRDs' OpenAPI schemas and CEL rules, strict field validation; nothing is
//! stored):
//!
//! - every example (`examples/`, `docs/examples/`) is accepted;
//! - every chart render (default, namespace-scoped and HA, PodDisruptionBudget
//!   variants, NetworkPolicy, a ZpaProviderConfig of each auth mode) and the
//!   kustomization of `deploy/` are accepted.
//!
//! The bad-manifest corpus (`tests/corpus/bad-manifests/`) is checked against
//! the API server and `plan` side by side, in `manifest_plan_validation.rs`.
//!
//! Namespaced objects are moved into a namespace of this test's own.
//!
//! Tools: the real control plane (tests/support/controlplane.rs), helm
//! (built with the other Go tools). A missing tool fails with one line.

mod support;

use std::fs;
use std::process::Output;

use serde_json::{Value, json};

use support::controlplane::{ControlPlane, kubectl_with, unique_name};
use support::tools::{HELM_INSTALL, RELEASE, TEST_IMAGE_REPOSITORY, documents, helm, kind, root, run_tool, yaml_files};

/// Kinds that live in a namespace (everything else here is cluster-scoped).
const NAMESPACED: [&str; 13] = [
    "IsolationProfile",
    "Microtenant",
    "Secret",
    "ConfigMap",
    "ServiceAccount",
    "Service",
    "Deployment",
    "Role",
    "RoleBinding",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceMonitor",
    "PrometheusRule",
];

/// `docs` with every namespaced object moved to `ns` (Namespace objects
/// dropped: the test's namespace exists), as one YAML stream.
fn into_namespace(docs: &[Value], ns: &str) -> String {
    let mut out = String::new();
    for doc in docs {
        if kind(doc) == "Namespace" {
            continue;
        }
        let mut doc = doc.clone();
        if NAMESPACED.contains(&kind(&doc)) {
            doc["metadata"]["namespace"] = json!(ns);
        }
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&doc).unwrap());
    }
    out
}

fn dry_run(plane: &ControlPlane, stream: &str) -> Output {
    kubectl_with(&plane.admin_kubeconfig(), &["apply", "--dry-run=server", "-f", "-"], Some(stream))
}

fn assert_accepted(plane: &ControlPlane, what: &str, stream: &str) {
    let output = dry_run(plane, stream);
    assert!(output.status.success(), "{what}: the API server refuses it:\n{}", String::from_utf8_lossy(&output.stderr));
    let applied = String::from_utf8_lossy(&output.stdout).lines().filter(|l| l.ends_with("(server dry run)")).count();
    let expected = documents(stream).len();
    assert_eq!(applied, expected, "{what}: every document passes:\n{}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn examples_and_catalog_pass_the_api_server() {
    let plane = ControlPlane::shared();
    let ns = unique_name("examples");
    plane.kubectl_ok(&["create", "namespace", &ns]);
    let mut files = yaml_files("examples");
    files.extend(yaml_files("docs/examples"));
    assert!(files.len() >= 12, "{files:?}");
    for file in files {
        let docs = documents(&fs::read_to_string(&file).unwrap());
        assert_accepted(plane, &file.display().to_string(), &into_namespace(&docs, &ns));
    }
    plane.kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
}

fn helm_render(ns: &str, chart: &str, args: &[&str]) -> String {
    let output = run_tool(
        std::process::Command::new(helm())
            .arg("template")
            .arg(RELEASE)
            .arg(root().join("charts").join(chart))
            .args(["--namespace", ns])
            .args(["--set", &format!("image.repository={TEST_IMAGE_REPOSITORY}")])
            .args(args),
        HELM_INSTALL,
    );
    assert!(output.status.success(), "helm template {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `helm template | kubectl apply --dry-run=server`: what Helm would send is
/// accepted by the API server, in each install mode; so is `kubectl apply -k deploy/`.
#[test]
fn chart_renders_and_deploy_pass_the_api_server() {
    let plane = ControlPlane::shared();
    let ns = unique_name("chart");
    let team_a = unique_name("team-a");
    let team_b = unique_name("team-b");
    for namespace in [&ns, &team_a, &team_b] {
        plane.kubectl_ok(&["create", "namespace", namespace]);
    }
    let watch = format!("watchNamespaces={{{team_a},{team_b}}}");
    let variants: Vec<(&str, Vec<&str>)> = vec![
        ("default", vec![]),
        (
            "namespace-scoped, HA, NetworkPolicy, minAvailable",
            vec![
                "--set",
                &watch,
                "--set",
                "replicas=2",
                "--set",
                "networkPolicy.enabled=true",
                "--set",
                "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
                "--set",
                "podDisruptionBudget.minAvailable=50%",
            ],
        ),
        (
            "a legacy ZpaProviderConfig on a named cloud",
            vec![
                "--set",
                "providerConfig.create=true",
                "--set",
                "providerConfig.cloud=PRODUCTION",
                "--set",
                "providerConfig.customerId=72057594037927936",
            ],
        ),
        (
            "a OneAPI ZpaProviderConfig with rate limits and a CA bundle",
            vec![
                "--set",
                "providerConfig.create=true",
                "--set",
                "providerConfig.auth=oneapi",
                "--set",
                "providerConfig.vanityDomain=acme",
                "--set",
                "providerConfig.customerId=1234567890123456789",
                "--set",
                "providerConfig.rateLimits.readsPerWindow=10",
                "--set",
                "providerConfig.rateLimits.writesPerWindow=5",
                "--set",
                "providerConfig.rateLimits.windowSeconds=10",
                "--set",
                "providerConfig.tls.caBundle=PEM",
            ],
        ),
        (
            "the production values of the catalog",
            vec![
                "--values",
                "docs/examples/helm/values-production.yaml",
                "--set",
                "metrics.serviceMonitor.enabled=false",
                "--set",
                "metrics.prometheusRule.enabled=false",
            ],
        ),
    ];
    for (what, args) in variants {
        let args: Vec<String> =
            args.iter()
                .map(|a| {
                    if a.starts_with("docs/") { root().join(a).to_string_lossy().into_owned() } else { (*a).to_owned() }
                })
                .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let render = helm_render(&ns, "zpa-operator", &args);
        // The ZpaProviderConfig's name is cluster-wide: make it this test's own.
        let docs: Vec<Value> = documents(&render)
            .into_iter()
            .map(|mut d| {
                if kind(&d) == "ZpaProviderConfig" {
                    d["metadata"]["name"] = json!(unique_name("chart-default"));
                }
                d
            })
            .collect();
        assert_accepted(plane, what, &into_namespace(&docs, &ns));
    }

    // deploy/: the kustomization, moved into this test's namespace.
    let built = plane.kubectl_ok(&["kustomize", root().join("deploy").to_str().unwrap()]);
    assert_accepted(plane, "kubectl apply -k deploy/", &into_namespace(&documents(&built), &ns));

    for namespace in [&ns, &team_a, &team_b] {
        plane.kubectl_ok(&["delete", "namespace", namespace, "--wait=false"]);
    }
}
