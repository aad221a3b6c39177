//! `deploy/`: the plain manifests `kubectl apply -k deploy/` installs are what
//! `deploy/generate.sh` writes from the charts now (and so the operator
//! chart's default render plus the CRD chart), and the kustomization builds
//! with the Go-built kubectl's kustomize.
//!
//! Tools: the Go-built `helm` and kubectl
//! (tests/controlplane/build.sh). A missing tool fails with one line.

mod support;

use std::fs;
use std::process::Command;

use serde_json::{Value, json};

use support::tools::{
    NAMESPACE, crd_sources, documents, go_tool, helm, helm_template, kind, name, read, root, run, run_tool, summary,
};

const GENERATED: [&str; 5] =
    ["namespace.yaml", "crds.yaml", "zpa-operator.yaml", "kustomization.yaml", "argocd/argocd-cm-patch.yaml"];

/// The image `deploy/` names: a local name a Kustomize `images:` entry points elsewhere.
const DEPLOY_IMAGE_REPOSITORY: &str = "zpa-operator";

#[test]
fn deploy_dir_is_a_fresh_render() {
    let helm = helm();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(Command::new("bash").arg(root().join("deploy/generate.sh")).arg(dir.path()).env("HELM", &helm));
    assert!(output.status.success(), "deploy/generate.sh failed:\n{}", String::from_utf8_lossy(&output.stderr));
    for file in GENERATED {
        let fresh =
            fs::read_to_string(dir.path().join(file)).unwrap_or_else(|e| panic!("generate.sh wrote no {file}: {e}"));
        let committed = read(format!("deploy/{file}"));
        assert!(fresh == committed, "deploy/{file} is stale: run deploy/generate.sh and commit the result");
    }

    // crds.yaml + zpa-operator.yaml are exactly the operator chart's render
    // with its CRDs (the same documents as the CRD chart's), default values
    // but the image.
    let mut split: Vec<Value> = documents(&read("deploy/crds.yaml"));
    split.extend(documents(&read("deploy/zpa-operator.yaml")));
    let image = format!("image.repository={DEPLOY_IMAGE_REPOSITORY}");
    let mut default =
        documents(&helm_template(&helm, "zpa-operator", &["--set", &image, "--set", "crds.install=true"]));
    let key = |d: &Value| serde_json::to_string(d).unwrap();
    split.sort_by_key(key);
    default.sort_by_key(key);
    assert_eq!(split, default, "deploy/ = the operator chart's render (default values), CRDs in their own file");
    let crds: Vec<String> = documents(&read("deploy/crds.yaml")).iter().map(|d| name(d).to_owned()).collect::<Vec<_>>();
    assert_eq!(crds, crd_sources().keys().cloned().collect::<Vec<_>>(), "deploy/crds.yaml holds the three CRDs");
    let deployment = documents(&read("deploy/zpa-operator.yaml"))
        .into_iter()
        .find(|d| kind(d) == "Deployment")
        .expect("a Deployment");
    let appversion = read("charts/zpa-operator/Chart.yaml")
        .lines()
        .find_map(|l| l.strip_prefix("appVersion: ").map(|v| v.trim_matches('"').to_owned()))
        .expect("appVersion");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{DEPLOY_IMAGE_REPOSITORY}:{appversion}"),
        "deploy/ runs the local image name zpa-operator:{appversion}"
    );

    let namespace_doc = &documents(&read("deploy/namespace.yaml"))[0];
    assert_eq!(kind(namespace_doc), "Namespace");
    assert_eq!(name(namespace_doc), NAMESPACE);
    assert_eq!(
        namespace_doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted",
        "the operator pod meets the restricted Pod Security Standard"
    );
}

/// The kustomization builds offline (kubectl's kustomize) and yields every manifest.
#[test]
fn kustomization_builds_every_manifest() {
    let kustomization: Value =
        serde_saphyr::from_str(&read("deploy/kustomization.yaml")).expect("kustomization parses");
    assert_eq!(kustomization["resources"], json!(["namespace.yaml", "crds.yaml", "zpa-operator.yaml"]));
    let built = run_tool(
        Command::new(go_tool("kubectl")).arg("kustomize").arg(root().join("deploy")),
        "build it with tests/controlplane/build.sh (needs Go 1.26)",
    );
    assert!(built.status.success(), "kubectl kustomize deploy/: {}", String::from_utf8_lossy(&built.stderr));
    let built = documents(&String::from_utf8(built.stdout).expect("UTF-8"));
    let mut expected = Vec::new();
    for file in ["deploy/namespace.yaml", "deploy/crds.yaml", "deploy/zpa-operator.yaml"] {
        expected.extend(documents(&read(file)));
    }
    assert_eq!(summary(&built), summary(&expected), "kubectl kustomize deploy/ yields every manifest");
}
