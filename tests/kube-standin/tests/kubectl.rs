//! The real `kubectl` against the stand-in: CRDs and custom resources from files, printer
//! columns, short names and categories, validation errors, patches, deletion with finalizers,
//! server-side apply conflicts, built-in kinds, watches and the `kube-standin` binary.

mod common;

use common::{GROUP, IsolationProfile, Kubectl, eventually, start};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

async fn with_crds() -> (kube_standin::RunningStandIn, Kubectl) {
    let server = start().await;
    let k = Kubectl::new(&server);
    let out = k.ok(&["apply", "-f", &k.fixture("crds")]).await;
    assert!(
        out.contains("customresourcedefinition.apiextensions.k8s.io/isolationprofiles.zpa.operator.dev created"),
        "{out}"
    );
    (server, k)
}

#[tokio::test]
async fn apply_crd_dir_then_resources_and_get_printer_columns() {
    let (server, k) = with_crds().await;
    let crds = k.ok(&["get", "crds"]).await;
    assert!(crds.contains("NAME") && crds.contains("CREATED AT"), "{crds}");
    assert!(crds.contains("microtenants.zpa.operator.dev"), "{crds}");

    let out = k.ok(&["apply", "-f", &k.fixture("resources/good.yaml")]).await;
    assert!(out.contains("isolationprofile.zpa.operator.dev/good created"), "{out}");
    assert!(out.contains("microtenant.zpa.operator.dev/tenant-a created"), "{out}");
    assert!(out.contains("secret/creds created"), "{out}");

    // The operator's status write, through kube's client.
    let api: Api<IsolationProfile> = Api::namespaced(server.kube_client(), "default");
    let status = json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "status": {"id": "cbi-42", "conditions": [
            {"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}
        ]}
    });
    api.patch_status("good", &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&status))
        .await
        .unwrap_or_else(|e| panic!("status apply: {e}"));

    let table = k.ok(&["get", "isop,mt"]).await;
    let lines: Vec<&str> = table.lines().collect();
    let header = lines.first().copied().unwrap_or_default();
    for col in ["NAME", "READY", "SYNCED", "ID", "AGE"] {
        assert!(header.contains(col), "missing {col}: {table}");
    }
    let row = lines
        .iter()
        .find(|l| l.starts_with("isolationprofile.zpa.operator.dev/good"))
        .unwrap_or_else(|| panic!("no good row: {table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[1..4], &["True", "False", "cbi-42"], "{table}");
    assert!(table.contains("ENABLED"), "{table}");
    let mt_row = lines
        .iter()
        .find(|l| l.starts_with("microtenant.zpa.operator.dev/tenant-a"))
        .unwrap_or_else(|| panic!("no tenant row: {table}"));
    assert!(mt_row.contains("true"), "{table}");

    // category and short name
    let by_category = k.ok(&["get", "zpa"]).await;
    assert!(by_category.contains("isolationprofile.zpa.operator.dev/good"), "{by_category}");
    assert!(by_category.contains("microtenant.zpa.operator.dev/tenant-a"), "{by_category}");

    let raw = k.ok(&["get", "isop", "good", "-o", "json"]).await;
    let obj: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    assert_eq!(obj["metadata"]["generation"], 1);
    assert_eq!(obj["spec"]["maxSessionMinutes"], 30, "schema default applied");
    assert_eq!(obj["spec"]["securityControls"]["upload"], false);
    assert_eq!(obj["status"]["id"], "cbi-42");
    assert!(obj["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    let rv: u64 = obj["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(rv > 0);

    let secrets = k.ok(&["get", "secrets"]).await;
    assert!(secrets.contains("TYPE") && secrets.contains("DATA"), "{secrets}");
    assert!(secrets.lines().any(|l| l.starts_with("creds") && l.contains("Opaque") && l.contains(" 2 ")), "{secrets}");

    // re-applying unchanged custom resources is a no-op
    let again = k.ok(&["apply", "-f", &k.fixture("resources/good.yaml")]).await;
    assert!(again.contains("isolationprofile.zpa.operator.dev/good unchanged"), "{again}");
}

#[tokio::test]
async fn validation_errors_are_printed_by_kubectl_apply() {
    let (_server, k) = with_crds().await;
    let err = k.fails(&["apply", "-f", &k.fixture("resources/bad-min-items.yaml")]).await;
    assert!(
        err.contains("The IsolationProfile \"bad\" is invalid: spec.regions: Invalid value: 1: spec.regions in body should have at least 2 items"),
        "{err}"
    );
    let err = k.fails(&["apply", "-f", &k.fixture("resources/bad-enum.yaml")]).await;
    assert!(
        err.contains(
            "spec.securityControls.copyPaste: Unsupported value: \"maybe\": supported values: \"none\", \"all\""
        ),
        "{err}"
    );
    let err = k.fails(&["apply", "-f", &k.fixture("resources/bad-unknown-field.yaml")]).await;
    assert!(err.contains("strict decoding error: unknown field \"spec.foo\""), "{err}");

    // CEL: transition rule (immutability) and cross-field rule with messageExpression
    k.ok(&["apply", "-f", &k.fixture("resources/good.yaml")]).await;
    let renamed = k.dir.path().join("renamed.yaml");
    let text = std::fs::read_to_string(k.fixture("resources/good.yaml"))
        .unwrap_or_default()
        .replace("Good profile", "Renamed");
    std::fs::write(&renamed, text).unwrap_or_else(|e| panic!("{e}"));
    let err = k.fails(&["apply", "-f", &renamed.to_string_lossy()]).await;
    assert!(err.contains("spec.name: Invalid value: \"string\": name is immutable"), "{err}");

    let err =
        k.fails(&["patch", "isop", "good", "--type", "merge", "-p", r#"{"spec":{"maxSessionMinutes":120}}"#]).await;
    assert!(
        err.contains("spec.maxSessionMinutes: Invalid value: \"integer\": maxSessionMinutes must be at most 60 when copyPaste is all"),
        "{err}"
    );
}

#[tokio::test]
async fn patch_merge_and_json_and_status() {
    let (_server, k) = with_crds().await;
    k.ok(&["apply", "-f", &k.fixture("resources/good.yaml")]).await;
    k.ok(&["patch", "isop", "good", "--type", "merge", "-p", r#"{"spec":{"description":"merged"}}"#]).await;
    k.ok(&[
        "patch",
        "isop",
        "good",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/regions","value":["us-east","eu-west","ap-south"]}]"#,
    ])
    .await;
    let out = k
        .ok(&["get", "isop", "good", "-o", "jsonpath={.spec.description}|{.spec.regions[2]}|{.metadata.generation}"])
        .await;
    assert_eq!(out, "merged|ap-south|3");

    let err = k
        .fails(&[
            "patch",
            "isop",
            "good",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/spec/description","value":"other"},{"op":"remove","path":"/spec/description"}]"#,
        ])
        .await;
    assert!(err.contains("testing value /spec/description failed"), "{err}");

    // the main resource ignores status; the status subresource takes only status
    k.ok(&["patch", "isop", "good", "--type", "merge", "-p", r#"{"status":{"id":"ignored"}}"#]).await;
    let id = k.ok(&["get", "isop", "good", "-o", "jsonpath={.status.id}"]).await;
    assert_eq!(id, "");
    k.ok(&[
        "patch",
        "isop",
        "good",
        "--subresource",
        "status",
        "--type",
        "merge",
        "-p",
        r#"{"status":{"id":"s-1"},"spec":{"description":"ignored"}}"#,
    ])
    .await;
    let out =
        k.ok(&["get", "isop", "good", "-o", "jsonpath={.status.id}|{.spec.description}|{.metadata.generation}"]).await;
    assert_eq!(out, "s-1|merged|3");

    // Microtenant has no status subresource: status is part of the main object
    k.ok(&["patch", "mt", "tenant-a", "--type", "merge", "-p", r#"{"status":{"id":"mt-1"}}"#]).await;
    let out = k.ok(&["get", "mt", "tenant-a", "-o", "jsonpath={.status.id}"]).await;
    assert_eq!(out, "mt-1");
}

#[tokio::test]
async fn delete_waits_for_the_last_finalizer() {
    let (server, k) = with_crds().await;
    k.ok(&["apply", "-f", &k.fixture("resources/good.yaml")]).await;
    k.ok(&[
        "patch",
        "isop",
        "good",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":["zpa.operator.dev/cleanup"]}}"#,
    ])
    .await;

    let mut child = k
        .command(&["delete", "isop", "good", "--wait=true", "--timeout=30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));

    let api: Api<IsolationProfile> = Api::namespaced(server.kube_client(), "default");
    eventually(20, "deletionTimestamp", || {
        let api = api.clone();
        async move { api.get("good").await.ok().filter(|o| o.metadata.deletion_timestamp.is_some()) }
    })
    .await;
    assert!(child.try_wait().ok().flatten().is_none(), "kubectl returned before the finalizer was removed");
    api.patch(
        "good",
        &PatchParams::default(),
        &Patch::Json::<()>(
            serde_json::from_value(json!([
                {"op": "test", "path": "/metadata/finalizers/0", "value": "zpa.operator.dev/cleanup"},
                {"op": "remove", "path": "/metadata/finalizers/0"}
            ]))
            .unwrap_or_else(|e| panic!("{e}")),
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("removing finalizer: {e}"));
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"good\" deleted"));
    let err = k.fails(&["get", "isop", "good"]).await;
    assert!(err.contains("isolationprofiles.zpa.operator.dev \"good\" not found"), "{err}");
}

#[tokio::test]
async fn server_side_apply_conflicts_and_force() {
    let (_server, k) = with_crds().await;
    let file = k.dir.path().join("ssa.yaml");
    std::fs::write(
        &file,
        "apiVersion: zpa.operator.dev/v1alpha1\nkind: IsolationProfile\nmetadata:\n  name: ssa\nspec:\n  name: SSA\n  regions: [us-east, eu-west]\n  description: from kubectl\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = file.to_string_lossy().into_owned();
    let out = k.ok(&["apply", "--server-side", "-f", &path]).await;
    assert!(out.contains("serverside-applied"), "{out}");
    let mf = k
        .ok(&[
            "get",
            "isop",
            "ssa",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[0].manager}/{.metadata.managedFields[0].operation}",
        ])
        .await;
    assert_eq!(mf, "kubectl/Apply");

    k.ok(&[
        "patch",
        "isop",
        "ssa",
        "--type",
        "merge",
        "--field-manager",
        "editor",
        "-p",
        r#"{"spec":{"description":"edited"}}"#,
    ])
    .await;
    let err = k.fails(&["apply", "--server-side", "-f", &path]).await;
    assert!(
        err.contains(
            "Apply failed with 1 conflict: conflict with \"editor\" using zpa.operator.dev/v1alpha1: .spec.description"
        ),
        "{err}"
    );
    k.ok(&["apply", "--server-side", "--force-conflicts", "-f", &path]).await;
    assert_eq!(k.ok(&["get", "isop", "ssa", "-o", "jsonpath={.spec.description}"]).await, "from kubectl");

    // dropping a field from the applied configuration removes it
    let text = std::fs::read_to_string(&file).unwrap_or_default().replace("  description: from kubectl\n", "");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    k.ok(&["apply", "--server-side", "-f", &path]).await;
    let spec = k.ok(&["get", "isop", "ssa", "-o", "jsonpath={.spec}"]).await;
    let spec: Value = serde_json::from_str(&spec).unwrap_or_else(|e| panic!("{e}: {spec}"));
    assert!(spec.get("description").is_none(), "{spec}");
}

#[tokio::test]
async fn builtin_kinds_through_kubectl() {
    let server = start().await;
    let k = Kubectl::new(&server);
    // kubectl create sends protobuf bodies for built-in kinds
    k.ok(&["create", "namespace", "team-a"]).await;
    k.ok(&["create", "secret", "generic", "plain", "-n", "team-a", "--from-literal=user=admin"]).await;
    let data = k.ok(&["get", "secret", "plain", "-n", "team-a", "-o", "jsonpath={.data.user}|{.type}"]).await;
    assert_eq!(data, "YWRtaW4=|Opaque");
    let ns = k.ok(&["get", "ns"]).await;
    assert!(ns.contains("team-a") && ns.contains("Active") && ns.contains("kube-system"), "{ns}");

    let file = k.dir.path().join("secret.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-file\n  namespace: team-a\nstringData:\n  token: abc\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    k.ok(&["apply", "-f", &file.to_string_lossy()]).await;
    let raw = k.ok(&["get", "secret", "from-file", "-n", "team-a", "-o", "json"]).await;
    let obj: Value = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(obj["data"]["token"], "YWJj");
    assert!(obj.get("stringData").is_none(), "stringData is never stored: {obj}");

    k.ok(&["delete", "namespace", "team-a", "--wait=true", "--timeout=30s"]).await;
    let err = k.fails(&["get", "secret", "plain", "-n", "team-a"]).await;
    assert!(err.contains("not found"), "{err}");
}

#[tokio::test]
async fn get_watch_streams_changes() {
    let (server, k) = with_crds().await;
    k.ok(&["apply", "-f", &k.fixture("resources/good.yaml")]).await;
    let mut child = k
        .command(&["get", "isop", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.iter().any(|l: &String| l.starts_with("ADDED")) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(l)) => seen.push(l),
            _ => panic!("no ADDED line: {seen:?}"),
        }
    }
    let api: Api<IsolationProfile> = Api::namespaced(server.kube_client(), "default");
    api.patch_status(
        "good",
        &PatchParams::apply("zpa-operator").force(),
        &Patch::Apply(
            json!({"apiVersion": format!("{GROUP}/v1alpha1"), "kind": "IsolationProfile", "status": {"id": "w-1"}}),
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    while !seen.iter().any(|l| l.starts_with("MODIFIED") && l.contains("w-1")) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(l)) => seen.push(l),
            _ => panic!("no MODIFIED line: {seen:?}"),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn binary_serves_kubectl_until_sigterm() {
    let bin = env!("CARGO_BIN_EXE_kube-standin");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = std::process::Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        line
    })
    .await
    .unwrap_or_default();
    let url = first
        .trim()
        .strip_prefix("kube-standin listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let config = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
    assert!(config.contains(&format!("server: {url}")), "{config}");

    let kubectl = common::kubectl_path();
    let out = std::process::Command::new(&kubectl)
        .env("KUBECONFIG", &kubeconfig)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["get", "namespaces", "-o", "name"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/default"));

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let status = eventually(10, "the binary to exit on SIGTERM", || {
        let s = child.try_wait().ok().flatten();
        async move { s }
    })
    .await;
    assert!(status.success(), "{status:?}");
}
