//! The tools the packaging tests run, and what they share: the Go-built tools
//! of `tests/controlplane/` (helm, kubectl, promtool, kubeconform,
//! argocd-health, kstatus), rendering the charts, and reading YAML documents.
//!
//! A missing tool fails the test with one line saying what to install: no
//! panic message with a location, no backtrace, and never a pass.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The release and namespace every render uses.
pub const NAMESPACE: &str = "zpa-system";
pub const RELEASE: &str = "zpa-operator";

/// The image repository renders of the operator chart get (it has no default).
pub const TEST_IMAGE_REPOSITORY: &str = "registry.example.com/platform/zpa-operator";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A repository file as text.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Fails the current test with `line` alone on stderr: the panic hook (and
/// with it the location line and any backtrace) is skipped.
pub fn fail_with_one_line(line: &str) -> ! {
    eprintln!("{line}");
    std::panic::resume_unwind(Box::new(line.to_owned()))
}

/// Runs `command`; a binary that cannot be started fails the test with one
/// line naming it and `install`.
pub fn run_tool(command: &mut Command, install: &str) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    match command.stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(e) => fail_with_one_line(&format!("`{program}` cannot run ({e}): {install}")),
    }
}

// ---------------------------------------------------------------------------
// helm
// ---------------------------------------------------------------------------

pub const HELM_INSTALL: &str =
    "Helm is built by tests/controlplane/build.sh (it needs Go 1.26); ZPA_HELM may name other binaries";

/// The Helm binaries to test with: `$ZPA_HELM` (space-separated, e.g. to add a
/// Helm 4), or the one built from Go modules with the other test tools.
pub fn helm_binaries() -> Vec<String> {
    let configured = std::env::var("ZPA_HELM").unwrap_or_default();
    let binaries: Vec<String> = configured.split_whitespace().map(str::to_owned).collect();
    let binaries = if binaries.is_empty() { vec![go_tool("helm").to_string_lossy().into_owned()] } else { binaries };
    for helm in &binaries {
        let output = run_tool(Command::new(helm).args(["version", "--short"]), HELM_INSTALL);
        if !output.status.success() {
            fail_with_one_line(&format!("`{helm} version` failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
    }
    binaries
}

/// The first Helm binary.
pub fn helm() -> String {
    helm_binaries().remove(0)
}

pub fn run(command: &mut Command) -> Output {
    let described = format!("{command:?}");
    command.output().unwrap_or_else(|e| panic!("cannot run {described}: {e}"))
}

/// stderr without Helm's note that `crd-sources` is a symlink (printed on every render).
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.to_lowercase().contains("found symbolic link"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn helm_template_output(helm: &str, chart: &str, args: &[&str]) -> Output {
    let chart_dir = root().join("charts").join(chart);
    let mut command = Command::new(helm);
    command.arg("template").arg(RELEASE).arg(&chart_dir).args(["--namespace", NAMESPACE]);
    if chart == "zpa-operator" {
        // Before `args`, so a test can override it (a later --set wins).
        command.args(["--set", &format!("image.repository={TEST_IMAGE_REPOSITORY}")]);
    }
    run_tool(command.args(args), HELM_INSTALL)
}

/// `helm template zpa-operator charts/CHART -n zpa-system ARGS...`; the
/// operator chart gets `image.repository=TEST_IMAGE_REPOSITORY` first.
pub fn helm_template(helm: &str, chart: &str, args: &[&str]) -> String {
    let output = helm_template_output(helm, chart, args);
    assert!(output.status.success(), "helm template {chart} {args:?} failed:\n{}", stderr_of(&output));
    String::from_utf8(output.stdout).expect("helm output is UTF-8")
}

/// The error of a render that must fail.
pub fn helm_template_error(helm: &str, chart: &str, args: &[&str]) -> String {
    let output = helm_template_output(helm, chart, args);
    assert!(!output.status.success(), "helm template {chart} {args:?} should have failed");
    stderr_of(&output)
}

// ---------------------------------------------------------------------------
// The Go-built tools of tests/controlplane/
// ---------------------------------------------------------------------------

/// One of the Go-built tools (`kubectl`, `promtool`, `kubeconform`,
/// `argocd-health`, `kstatus`, ...), from the control plane harness's build
/// of `tests/controlplane/` (built first when its cache is missing). Without
/// Go the test fails with one line.
pub fn go_tool(name: &str) -> PathBuf {
    static GO: OnceLock<()> = OnceLock::new();
    GO.get_or_init(|| {
        let found = Command::new("go").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !found.is_ok_and(|status| status.success()) {
            fail_with_one_line(
                "Go is not installed: install Go 1.26 so tests/controlplane/build.sh can build the test tools",
            );
        }
    });
    super::controlplane::tool(name)
}

// ---------------------------------------------------------------------------
// YAML documents
// ---------------------------------------------------------------------------

/// Every non-empty YAML document of `text`, as JSON.
pub fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|e| panic!("YAML does not parse: {e}\n{text}"))
        .into_iter()
        .filter(|doc| !doc.is_null())
        .collect()
}

pub fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

pub fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn namespace(doc: &Value) -> Option<&str> {
    doc["metadata"]["namespace"].as_str()
}

pub fn find<'a>(docs: &'a [Value], wanted_kind: &str, wanted_name: &str) -> &'a Value {
    docs.iter()
        .find(|d| kind(d) == wanted_kind && name(d) == wanted_name)
        .unwrap_or_else(|| panic!("no {wanted_kind} {wanted_name} in the render; have {:?}", summary(docs)))
}

pub fn of_kind<'a>(docs: &'a [Value], wanted: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == wanted).collect()
}

/// "Kind namespace/name" of every document, sorted.
pub fn summary(docs: &[Value]) -> Vec<String> {
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

pub fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// The CRD files of crds/, by CRD name: (file name, text after the leading `---`).
pub fn crd_sources() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(root().join("crds")).expect("crds/ exists") {
        let path = entry.expect("crds/ entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("CRD file reads");
        let doc: Value = serde_saphyr::from_str(&text).expect("CRD file parses");
        let body = text.strip_prefix("---\n").unwrap_or(&text).trim().to_owned();
        out.insert(name(&doc).to_owned(), (path.file_name().unwrap().to_string_lossy().into_owned(), body));
    }
    assert_eq!(out.len(), 3, "crds/ holds the three CRDs");
    out
}

/// The YAML files directly in `dir` (not below it), sorted.
pub fn yaml_files(dir: impl AsRef<Path>) -> Vec<PathBuf> {
    let dir = root().join(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}
