//! The Argo CD health checks of `deploy/argocd/`, run in gopher-lua, the Lua
//! interpreter Argo CD embeds, the way Argo CD runs a custom check from
//! argocd-cm: only the package, base and table libraries, `obj` as a global,
//! the returned table read as {status, message} (`tests/controlplane/cmd/argocd-health`).
//! Every case of `health_test.yaml` and `provider-config-health_test.yaml`
//! (Argo CD's own test layout) must give its expected status and message, and
//! every `return result(...)` of the scripts must be reached by some case.
//!
//! Tools: the Go-built `argocd-health` (tests/controlplane/build.sh; needs Go).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;

use serde::Deserialize;
use serde_json::{Value, json};

use support::tools::{go_tool, kind, read, root, run_tool};

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

#[derive(Deserialize, Debug, PartialEq, Clone)]
struct HealthStatus {
    status: String,
    message: String,
}

/// What `argocd-health -cover` printed for one input.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Evaluated {
    input: String,
    status: Option<String>,
    message: Option<String>,
    error: Option<String>,
    #[serde(default)]
    return_lines: Vec<usize>,
}

/// Runs `script` on every input (paths relative to deploy/argocd) in one
/// gopher-lua process; the result per input.
fn evaluate(script: &str, inputs: &[String]) -> BTreeMap<String, Evaluated> {
    let dir = root().join("deploy/argocd");
    let output = run_tool(
        Command::new(go_tool("argocd-health")).current_dir(&dir).arg("-cover").arg(script).args(inputs),
        "build it with tests/controlplane/build.sh (needs Go 1.26)",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "argocd-health {script} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results: BTreeMap<String, Evaluated> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Evaluated>(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .map(|e| (e.input.clone(), e))
        .collect();
    assert_eq!(results.len(), inputs.len(), "one result per input:\n{stdout}");
    results
}

fn check_health_script(script_file: &str, tests_file: &str) -> BTreeSet<String> {
    let script = read(format!("deploy/argocd/{script_file}"));
    let tests: HealthTests = serde_saphyr::from_str(&read(format!("deploy/argocd/{tests_file}"))).expect("tests parse");
    assert!(!tests.tests.is_empty(), "{tests_file} has tests");
    let inputs: Vec<String> = tests.tests.iter().map(|t| t.input_path.clone()).collect();
    let unique: BTreeSet<String> = inputs.iter().cloned().collect();
    assert_eq!(unique.len(), inputs.len(), "an input is listed twice in {tests_file}");

    let results = evaluate(script_file, &inputs);
    let mut failures = Vec::new();
    let mut executed = BTreeSet::new();
    for test in &tests.tests {
        assert!(
            ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]
                .contains(&test.health_status.status.as_str()),
            "{}: {} is not an Argo CD health status",
            test.input_path,
            test.health_status.status
        );
        let got = &results[&test.input_path];
        if let Some(error) = &got.error {
            failures.push(format!("{}: the script failed: {error}", test.input_path));
            continue;
        }
        let got_status = HealthStatus {
            status: got.status.clone().unwrap_or_default(),
            message: got.message.clone().unwrap_or_default(),
        };
        if got_status != test.health_status {
            failures.push(format!("{}: expected {:?}, got {:?}", test.input_path, test.health_status, got_status));
        }
        executed.extend(got.return_lines.iter().copied());
    }
    assert!(failures.is_empty(), "{script_file} in gopher-lua:\n{}", failures.join("\n"));

    // Every way out of the script is taken by some test object.
    let untested: Vec<String> = script
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("return result("))
        .filter(|(i, _)| !executed.contains(&(i + 1)))
        .map(|(i, line)| format!("line {}: {}", i + 1, line.trim()))
        .collect();
    assert!(untested.is_empty(), "{script_file}: no test reaches {untested:#?}");
    unique
}

#[test]
fn argocd_health_checks_give_expected_status_in_gopher_lua() {
    let mut inputs = check_health_script("health.lua", "health_test.yaml");
    inputs.extend(check_health_script("provider-config-health.lua", "provider-config-health_test.yaml"));

    // Every test object is used, and the managed-kind script covers both kinds.
    let mut on_disk = BTreeSet::new();
    for entry in fs::read_dir(root().join("deploy/argocd/testdata")).expect("testdata/") {
        on_disk.insert(format!("testdata/{}", entry.expect("entry").file_name().to_string_lossy()));
    }
    assert_eq!(inputs, on_disk, "every file of deploy/argocd/testdata is a test input, and only those");
    let tests: HealthTests = serde_saphyr::from_str(&read("deploy/argocd/health_test.yaml")).unwrap();
    let kinds: BTreeSet<String> = tests
        .tests
        .iter()
        .map(|t| {
            let object: Value = serde_saphyr::from_str(&read(format!("deploy/argocd/{}", t.input_path))).unwrap();
            kind(&object).to_owned()
        })
        .collect();
    assert_eq!(kinds, BTreeSet::from(["IsolationProfile".to_owned(), "Microtenant".to_owned()]));
}

/// The interpreter is as strict as Argo CD's: a script that reaches for a
/// library Argo CD does not open for custom checks (`string`, `math`, `io`)
/// fails, so the health scripts cannot depend on one by accident.
#[test]
fn gopher_lua_runs_with_only_the_libraries_argo_cd_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let object = dir.path().join("object.yaml");
    fs::write(&object, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").unwrap();
    let run_script = |body: &str| -> Value {
        let script = dir.path().join("check.lua");
        fs::write(&script, body).unwrap();
        let output = run_tool(
            Command::new(go_tool("argocd-health")).arg(&script).arg(&object),
            "build it with tests/controlplane/build.sh (needs Go 1.26)",
        );
        let line = String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().to_owned();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let ok = run_script(
        "local hs = {}\nhs.status = 'Healthy'\nhs.message = obj.metadata.name\ntable.insert({}, 1)\nreturn hs\n",
    );
    assert_eq!((ok["status"].clone(), ok["message"].clone()), (json!("Healthy"), json!("x")), "{ok}");
    for library in ["string.upper('a')", "math.floor(1.5)", "io.write('x')"] {
        let failed = run_script(&format!("local x = {library}\nreturn {{status = 'Healthy'}}\n"));
        assert!(failed["error"].is_string(), "{library} must not be available: {failed}");
    }
    let invalid = run_script("return {status = 'Fine'}\n");
    assert_eq!(invalid["status"], "Unknown", "an invalid status becomes Unknown, as in Argo CD: {invalid}");
}

#[test]
fn argocd_cm_patch_embeds_the_scripts() {
    let patch: Value = serde_saphyr::from_str(&read("deploy/argocd/argocd-cm-patch.yaml")).expect("patch parses");
    assert_eq!(kind(&patch), "ConfigMap");
    assert_eq!(patch["metadata"]["name"], "argocd-cm");
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
