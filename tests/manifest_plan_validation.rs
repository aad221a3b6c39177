//! `plan` refuses what the API server refuses, with its words: every document
//! of the bad-manifest corpus (`tests/corpus/bad-manifests/`) goes to the
//! real API server (`kubectl apply --dry-run=server`, strict field
//! validation, the CRDs' schemas and CEL rules) and to `zpa-operator plan`,
//! and both must refuse it with the message its `# API server:` line
//! records. `plan` must exit 1 and touch nothing: the tenant its provider
//! config names (a simulator) sees no request at all, across the whole corpus.
//!
//! The `cel-update` files hold an object and an update of it. The API server
//! sees the update against the stored original; `plan` cannot see a
//! cluster, but given both documents in one input it checks the second as
//! `kubectl apply` would send it, an update of the first, so the transition
//! rule (`oldSelf`) runs. A lone update document `plan` cannot judge: that
//! is said by a test below, not hidden.
//!
//! And the other way round: every example and catalog manifest that the API
//! server accepts, `plan` accepts too.
//!
//! Tools: the real control plane (tests/support/controlplane.rs). A missing
//! tool fails with one line.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use support::controlplane::{ControlPlane, kubectl_with, unique_name};
use support::manifests::provider_config_yaml;
use support::processes::operator_binary;
use support::tools::{root, yaml_files};

fn install_crds(plane: &ControlPlane) {
    let crds = root().join("crds");
    plane.kubectl_ok(&["apply", "--server-side", "--force-conflicts", "-f", crds.to_str().unwrap()]);
    plane.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/isolationprofiles.zpa.operator.dev",
        "crd/microtenants.zpa.operator.dev",
        "crd/zpaproviderconfigs.zpa.operator.dev",
    ]);
}

fn plan(args: &[&str]) -> Output {
    Command::new(operator_binary())
        .arg("plan")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("zpa-operator plan runs")
}

fn header<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(key).map(str::trim)).unwrap_or_else(|| panic!("no `{key}` line"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_is_refused_by_the_api_server_and_by_plan_alike() {
    let plane = ControlPlane::shared();
    install_crds(plane);
    let ns = unique_name("plan-corpus");
    plane.kubectl_ok(&["create", "namespace", &ns]);
    let sim = support::simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("provider-config.yaml");
    fs::write(&config, provider_config_yaml(&sim.base_url())).unwrap();

    let files = yaml_files("tests/corpus/bad-manifests");
    assert!(files.len() >= 25, "{} files", files.len());
    let mut failures = Vec::new();
    let mut by_category: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let expected = header(&text, "# API server:");
        let category = header(&text, "# Refused by:").to_owned();
        let short = file.strip_prefix(root()).unwrap_or(file).display().to_string();

        // The API server.
        let server = if category == "cel-update" {
            let docs: Vec<&str> = text.split("\n---\n").collect();
            let own = unique_name("plan-corpus-update");
            plane.kubectl_ok(&["create", "namespace", &own]);
            let create = kubectl_with(&plane.admin_kubeconfig(), &["apply", "-n", &own, "-f", "-"], Some(docs[0]));
            assert!(create.status.success(), "{short}: {}", String::from_utf8_lossy(&create.stderr));
            let update = kubectl_with(
                &plane.admin_kubeconfig(),
                &["apply", "--dry-run=server", "-n", &own, "-f", "-"],
                Some(docs[1]),
            );
            plane.kubectl_ok(&["delete", "namespace", &own, "--wait=false"]);
            update
        } else {
            kubectl_with(
                &plane.admin_kubeconfig(),
                &["apply", "--dry-run=server", "-n", &ns, "-f", file.to_str().unwrap()],
                None,
            )
        };
        let server_said = String::from_utf8_lossy(&server.stderr).into_owned();
        if server.status.success() {
            failures.push(format!("{short}: the API server accepts it"));
        } else if !server_said.contains(expected) {
            failures
                .push(format!("{short}: the API server refuses it, but not with {expected:?}: {}", server_said.trim()));
        }

        // plan, with a provider config for a live tenant next to it.
        let output = plan(&["-f", config.to_str().unwrap(), "-f", file.to_str().unwrap()]);
        let plan_said = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.code() != Some(1) {
            failures.push(format!("{short}: plan exits {:?}, not 1: {plan_said}", output.status.code()));
        } else if !plan_said.contains(expected) {
            failures.push(format!("{short}: plan refuses it, but not with {expected:?}:\n  {}", plan_said.trim()));
        } else if !plan_said.contains(&short) {
            failures.push(format!("{short}: plan's message does not name the file: {plan_said}"));
        }
        *by_category.entry(category).or_default() += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("refused by both, per category: {by_category:?}");
    for category in ["schema", "cel", "cel-update", "no-schema", "no-kind"] {
        assert!(by_category.contains_key(category), "the corpus covers {category}: {by_category:?}");
    }

    // Nothing reached the tenant: every run stopped at validation.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stats: Value = reqwest::get(format!("{}/__sim/stats", sim.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(stats["totalRequests"], 0, "plan touched the tenant: {stats}");
    plane.kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
}

/// What the API server accepts (the examples and the catalog), `plan` accepts too.
#[test]
fn what_the_api_server_accepts_plan_accepts() {
    let mut files = yaml_files("examples");
    files.extend(yaml_files("docs/examples"));
    assert!(files.len() >= 12, "{files:?}");
    for file in files {
        let output = plan(&["--simulator", "-o", "json", "-f", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {stdout}", file.display()));
        assert!(report.get("refused").is_none(), "{}: plan refuses it: {report}", file.display());
    }
}

/// A transition rule needs the old object: an update document alone passes
/// `plan` (which cannot see the cluster's stored object) although the API
/// server refuses it against the stored original. Said here so that nobody
/// reads the corpus result as more than it is.
#[test]
fn a_lone_update_cannot_be_judged_without_the_stored_object() {
    let text =
        fs::read_to_string(root().join("tests/corpus/bad-manifests/17-isolationprofile-externalid-changed.yaml"))
            .unwrap();
    let update = text.split("\n---\n").nth(1).expect("the update document");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("update.yaml");
    fs::write(&file, update).unwrap();
    let output = plan(&["--simulator", "-o", "json", "-f", file.to_str().unwrap()]);
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(report.get("refused").is_none(), "without the old object no transition rule runs: {report}");
}
