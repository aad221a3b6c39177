//! One version everywhere: the charts' `version` and `appVersion`, the
//! binary's `--version`, the image labels (what `release/lib.sh` reads for
//! them), the CRD bundle (`crds/`, `deploy/crds.yaml`) and the README's
//! install commands all carry the workspace version; a release cannot ship
//! two. tests/release.rs checks the labels of the pushed image itself.

mod support;

use std::process::Command;

use serde_json::Value;

use support::tools::{crd_sources, documents, read, root, run_tool};
use zpa_operator::crd;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const LABEL: &str = "app.kubernetes.io/version";

#[test]
fn both_charts_have_the_workspace_version_and_app_version() {
    for chart in ["zpa-operator", "zpa-operator-crds"] {
        let meta: Value = serde_saphyr::from_str(&read(format!("charts/{chart}/Chart.yaml"))).expect("Chart.yaml");
        assert_eq!(meta["version"], VERSION, "charts/{chart}/Chart.yaml version");
        assert_eq!(meta["appVersion"], VERSION, "charts/{chart}/Chart.yaml appVersion");
    }
}

#[test]
fn the_binary_reports_the_workspace_version() {
    let output = run_tool(Command::new(env!("CARGO_BIN_EXE_zpa-operator")).arg("--version"), "cargo builds it");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("zpa-operator {VERSION}"));
}

/// What release/lib.sh gives release/image.sh for the labels.
fn lib_sh(function: &str) -> String {
    let script = format!("source release/lib.sh && {function}");
    let output =
        run_tool(Command::new("bash").args(["-c", &script]).current_dir(root()), "bash runs the release scripts");
    assert!(output.status.success(), "{function}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn the_image_labels_come_from_the_workspace_package() {
    assert_eq!(lib_sh("workspace_version"), VERSION);
    assert_eq!(lib_sh("package_field description"), env!("CARGO_PKG_DESCRIPTION"));
    assert_eq!(lib_sh("package_field license"), env!("CARGO_PKG_LICENSE"));
}

#[test]
fn the_crd_bundle_carries_the_workspace_version() {
    for definition in crd::all() {
        let labels = definition.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(LABEL).map(String::as_str),
            Some(VERSION),
            "{}",
            definition.metadata.name.unwrap_or_default()
        );
    }
    for (name, (file, body)) in crd_sources() {
        let doc: Value = serde_saphyr::from_str(&body).expect("CRD parses");
        assert_eq!(
            doc["metadata"]["labels"][LABEL], VERSION,
            "crds/{file} ({name}): run `zpa-operator crds --dir crds`"
        );
    }
    let bundle = documents(&read("deploy/crds.yaml"));
    assert_eq!(bundle.len(), 3, "deploy/crds.yaml holds the three CRDs");
    for doc in bundle {
        assert_eq!(doc["metadata"]["labels"][LABEL], VERSION, "deploy/crds.yaml: run deploy/generate.sh");
    }
}

#[test]
fn the_readme_installs_the_workspace_version_from_the_oci_charts() {
    let readme = read("README.md");
    for chart in ["zpa-operator-crds", "zpa-operator"] {
        let command = format!("oci://ghcr.io/OWNER/charts/{chart} --version {VERSION}");
        assert!(readme.contains(&command), "the README installs `{command}`");
    }
}
