//! The CLI as a new user meets it, run as the real binary: `-f` like
//! kubectl (files, directories, `-`, `-R`), `-o json`, names shared by two
//! manifests decided as the operator decides them, `sync`'s progress when
//! not on a terminal, an unreachable tenant failing fast with a hint, and
//! logs without colour when they do not go to a terminal.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use support::manifests::provider_config_yaml;
use support::processes::operator_binary;
use support::tools::root;

fn zpa(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(operator_binary())
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zpa-operator runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or_default().as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("zpa-operator finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&output.stdout)))
}

/// A Microtenant manifest; `extra` adds spec fields (`, enabled: false`).
fn microtenant(name: &str, display: &str, domain: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: zpa.operator.dev/v1alpha1\nkind: Microtenant\nmetadata: {{name: {name}}}\n\
         spec: {{name: {display}, criteriaAttributeValues: [{domain}]{extra}}}\n"
    )
}

#[test]
fn the_readme_s_first_command_converges_with_plain_progress_lines() {
    let output = zpa(&["sync", "-f", root().join("examples").to_str().unwrap(), "--simulator"], None);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Re-check: 0 to create, 0 to update"), "{stdout}");
    // Not a terminal: plain lines, the last one complete, no cursor tricks.
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("progress: ")).collect();
    assert!(lines.last().is_some_and(|l| l.starts_with("progress: 5/5 objects (100%)")), "{stderr}");
    assert!(!stderr.contains('\r') && !stderr.contains('\x1b') && !stdout.contains('\x1b'), "{stderr}");
}

#[test]
fn files_stdin_and_recursive_directories_like_kubectl() {
    let examples = root().join("examples");
    let all: String = support::tools::yaml_files("examples")
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap() + "\n---\n")
        .collect();
    let from_stdin = zpa(&["plan", "--simulator", "-o", "json", "-f", "-"], Some(&all));
    let summary = &json_of(&from_stdin)["summary"];
    assert_eq!((summary["create"].clone(), summary["afterCreate"].clone()), (3.into(), 2.into()), "{summary}");

    let files = zpa(
        &[
            "plan",
            "--simulator",
            "-o",
            "json",
            "-f",
            examples.join("10-microtenants.yaml").to_str().unwrap(),
            "-f",
            examples.join("00-provider-config.yaml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(json_of(&files)["summary"]["create"], 2);

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::copy(examples.join("10-microtenants.yaml"), dir.path().join("nested/mt.yaml")).unwrap();
    let flat = zpa(&["plan", "--simulator", "-f", dir.path().to_str().unwrap()], None);
    assert_eq!(flat.status.code(), Some(1), "no manifest directly in the directory");
    assert!(text(&flat.stderr).contains("no objects passed"), "{}", text(&flat.stderr));
    let deep = zpa(&["plan", "--simulator", "-o", "json", "-R", "-f", dir.path().to_str().unwrap()], None);
    assert_eq!(json_of(&deep)["summary"]["create"], 2, "{}", text(&deep.stderr));
    assert_eq!(deep.status.code(), Some(2), "changes pending");
}

#[test]
fn a_wrong_version_of_our_group_is_refused_and_other_groups_are_ignored() {
    let input = "apiVersion: zpa.operator.dev/v1beta1\nkind: Microtenant\nmetadata: {name: a}\nspec: {}\n---\n\
                 apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n";
    let output = zpa(&["plan", "--simulator", "-o", "json", "-f", "-"], Some(input));
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    assert_eq!(report["refused"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report["refused"][0]["source"], "STDIN");
    assert!(report["refused"][0]["message"].as_str().unwrap().contains("no matches for kind \"Microtenant\""));

    let other =
        zpa(&["plan", "--simulator", "-f", "-"], Some("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n"));
    assert_eq!(other.status.code(), Some(0), "{}", text(&other.stderr));
    assert!(text(&other.stdout).contains("Deployment b: not a zpa.operator.dev kind, ignored"));
}

/// The bug of issue 14: two manifests sharing `spec.name` made `sync` update
/// the other Microtenant. As with the operator, the second is now
/// `AlreadyExists` and the first's remote object keeps its spec; with
/// `adoption: ByName` the second manages that same object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_manifests_sharing_a_display_name_decide_as_the_operator() {
    let sim = support::simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("provider-config.yaml");
    std::fs::write(&config, provider_config_yaml(&sim.base_url())).unwrap();
    let clash = dir.path().join("clash.yaml");
    std::fs::write(
        &clash,
        microtenant("first", "Shared", "first.example.com", ", enabled: true")
            + &microtenant("second", "Shared", "second.example.com", ", enabled: false"),
    )
    .unwrap();
    let (config, clash_path) = (config.to_str().unwrap(), clash.to_str().unwrap());
    let run = |command: &str| zpa(&[command, "-o", "json", "-f", config, "-f", clash_path], None);

    let planned = run("plan");
    let report = json_of(&planned);
    assert_eq!(planned.status.code(), Some(1), "{report}");
    assert_eq!(report["objects"][0]["action"], "create");
    assert_eq!(report["objects"][1]["reason"], "AlreadyExists", "{report}");

    let synced = run("sync");
    let report = json_of(&synced);
    assert_eq!(synced.status.code(), Some(1), "{report}");
    assert_eq!(report["objects"][0]["action"], "create");
    assert_eq!(report["objects"][1]["reason"], "AlreadyExists", "{report}");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let state: Value = reqwest::get(format!("{}/__sim/customers/72057594037927936/state", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shared: Vec<&Value> =
        state["microtenants"].as_array().into_iter().flatten().filter(|m| m["name"] == "Shared").collect();
    assert_eq!(shared.len(), 1, "{state}");
    assert_eq!(shared[0]["enabled"], true, "the first's Microtenant was not touched");
    assert_eq!(shared[0]["criteriaAttributeValues"], serde_json::json!(["first.example.com"]));

    // Adoption by name: the second takes over the one object, as the operator would.
    std::fs::write(
        &clash,
        microtenant("first", "Shared", "first.example.com", ", enabled: true")
            + &microtenant("second", "Shared", "first.example.com", ", enabled: true, adoption: ByName"),
    )
    .unwrap();
    let adopted = run("plan");
    let report = json_of(&adopted);
    assert_eq!(report["objects"][1]["action"], "inSync", "{report}");
    assert_eq!(report["objects"][1]["adopted"], true, "{report}");
}

#[test]
fn an_unreachable_tenant_fails_fast_with_a_hint() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base_url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("provider-config.yaml");
    std::fs::write(
        &config,
        provider_config_yaml(&base_url)
            + &microtenant("a", "A", "a.example.com", "")
            + &microtenant("b", "B", "b.example.com", ""),
    )
    .unwrap();
    let started = Instant::now();
    let output = zpa(&["plan", "-f", config.to_str().unwrap()], None);
    let took = started.elapsed();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot reach ZPA at {base_url}")), "{stderr}");
    assert!(stderr.contains("--simulator"), "the hint names --simulator: {stderr}");
    assert_eq!(stderr.matches("cannot reach").count(), 1, "one error, not one per object: {stderr}");
    // Generous: the client's own retries alone took over 90 s per object.
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let run = |no_color: Option<&str>| {
        let mut command = Command::new(operator_binary());
        command
            .args(["run", "--metrics-listen", "127.0.0.1:0"])
            .env("KUBECONFIG", dir.path().join("missing-kubeconfig"))
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        match no_color {
            Some(value) => command.env("NO_COLOR", value),
            None => command.env_remove("NO_COLOR"),
        };
        command.output().expect("zpa-operator run")
    };
    for no_color in [None, Some("1")] {
        let output = run(no_color);
        let stderr = text(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains("ERROR") && stderr.contains("cannot reach Kubernetes"), "{stderr}");
        assert!(!stderr.contains("\x1b["), "ANSI codes in a pipe (NO_COLOR={no_color:?}): {stderr:?}");
    }
}

#[test]
fn durations_are_kubernetes_style() {
    let output = zpa(&["run", "--resync-interval", "7"], None);
    assert_eq!(output.status.code(), Some(2), "clap refuses it");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("\"7\" has no unit") && stderr.contains("1h30m"), "{stderr}");
}

/// A OneAPI provider config for the simulator at `base_url` whose Secret
/// holds `keys` (YAML `stringData` lines, indented by four).
fn oneapi_provider_config_yaml(base_url: &str, auth: &str, keys: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: zpa-system}}\nstringData:\n{keys}---\n\
         apiVersion: zpa.operator.dev/v1alpha1\nkind: ZpaProviderConfig\nmetadata: {{name: default}}\n\
         spec: {{baseUrl: \"{base_url}\", customerId: \"72057594037927936\", auth: {auth}, vanityDomain: acme,\n\
         \x20 credentialsSecretRef: {{namespace: zpa-system, name: creds}}}}\n"
    )
}

/// A Secret `stringData` entry holding a multi-line value (a PEM).
fn block(key: &str, value: &str) -> String {
    let indented: String = value.lines().map(|l| format!("      {l}\n")).collect();
    format!("    {key}: |\n{indented}")
}

/// `zpa-operator` with `env` set and the credential variables otherwise unset.
fn zpa_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(operator_binary());
    command.args(args).env_remove("RUST_LOG").stdin(Stdio::null());
    for var in ["ZPA_CLIENT_ID", "ZPA_CLIENT_SECRET", "ZPA_PRIVATE_KEY"] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("zpa-operator runs")
}

/// `plan`, `sync` and `export` sign in with the private key of the provider
/// config's Secret, or of `ZPA_PRIVATE_KEY`; a Secret holding both a secret
/// and a key, a 1024-bit key or a key with legacy auth stop before anything
/// is sent, each saying why and naming the Secret's key, never its content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_sync_and_export_sign_in_with_a_private_key() {
    use zpa_operator::simulator::{PublicKeyClient, SimulatorConfig};
    let key = support::keys::client_key();
    let sim = support::simulator_with(SimulatorConfig {
        rate_limit: None,
        public_key_clients: vec![PublicKeyClient {
            client_id: "cli-key-client".into(),
            public_key: support::keys::public_pem(key),
        }],
        ..SimulatorConfig::default()
    })
    .await;
    let pem = support::keys::private_pem(key);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let token_requests = || sim.stats().by_route.get("POST /oauth2/v1/token").copied().unwrap_or(0);
    let objects = write("objects.yaml", microtenant("keyed", "Keyed", "keyed.example.com", ", adoption: ByName"));
    let keys = format!("    clientId: cli-key-client\n{}", block("privateKey", &pem));
    let config = write("config.yaml", oneapi_provider_config_yaml(&sim.base_url(), "oneapi", &keys));

    let synced = zpa_with_env(&["sync", "-o", "json", "-f", &config, "-f", &objects], &[]);
    assert!(synced.status.success(), "{}\n{}", text(&synced.stdout), text(&synced.stderr));
    assert_eq!(json_of(&synced)["objects"][0]["action"], "create");
    assert!(token_requests() >= 1, "signed in through the OneAPI token endpoint");
    let planned = zpa_with_env(&["plan", "-o", "json", "-f", &config, "-f", &objects], &[]);
    assert!(planned.status.success(), "{}", text(&planned.stderr));
    assert_eq!(json_of(&planned)["objects"][0]["action"], "inSync");
    let exported_dir = dir.path().join("exported");
    let exported = zpa_with_env(&["export", "-f", &config, "-o", exported_dir.to_str().unwrap()], &[]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let written: String = std::fs::read_dir(&exported_dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    assert!(written.contains("Keyed"), "the exported manifests hold the Microtenant: {written}");

    // ZPA_PRIVATE_KEY stands in for the Secret's key.
    let id_only =
        write("id-only.yaml", oneapi_provider_config_yaml(&sim.base_url(), "oneapi", "    clientId: cli-key-client\n"));
    let from_env = zpa_with_env(&["plan", "-o", "json", "-f", &id_only, "-f", &objects], &[("ZPA_PRIVATE_KEY", &pem)]);
    assert!(from_env.status.success(), "{}", text(&from_env.stderr));
    assert_eq!(json_of(&from_env)["objects"][0]["action"], "inSync");

    let before = token_requests();
    let small_pem = support::keys::private_pem(&support::keys::generate(1024));
    let refused = [
        (
            oneapi_provider_config_yaml(
                &sim.base_url(),
                "oneapi",
                &format!(
                    "    clientId: cli-key-client\n    clientSecret: also-a-secret\n{}",
                    block("privateKey", &pem)
                ),
            ),
            "both key \"clientSecret\"",
        ),
        (
            oneapi_provider_config_yaml(
                &sim.base_url(),
                "oneapi",
                &format!("    clientId: cli-key-client\n{}", block("privateKey", &small_pem)),
            ),
            "key \"privateKey\" of Secret zpa-system/creds in the manifests (or set ZPA_PRIVATE_KEY) cannot be used: \
             the RSA key has 1024 bits; at least 2048 are required",
        ),
        (
            oneapi_provider_config_yaml(&sim.base_url(), "legacy", &keys),
            "only auth: oneapi signs in with a private key",
        ),
    ];
    for (n, (yaml, why)) in refused.into_iter().enumerate() {
        let config = write(&format!("refused-{n}.yaml"), yaml);
        let output = zpa_with_env(&["plan", "-f", &config, "-f", &objects], &[]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(why), "{why:?} not in: {stderr}");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).take(2).collect();
        assert!(!stderr.contains(&body) && !stderr.contains("also-a-secret"), "no key material: {stderr}");
    }
    assert_eq!(token_requests(), before, "nothing was sent to ZPA for the refused configs");
}
