//! Onboarding an existing tenant: `zpa-operator export` writes manifests for
//! every Microtenant and every CBI profile of every scope; `plan` on them
//! shows nothing to change; applied to the real API server, the operator
//! adopts every object and writes nothing to ZPA.
//!
//! Tools: the real control plane and the Go-built kubectl. A missing tool
//! fails with one line.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use support::processes::{World, operator_binary};
use support::tenant;
use zpa_operator::zpa::Scope;

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(operator_binary()).args(&args).stdin(Stdio::null()).output().expect("zpa-operator runs")
    })
    .await
    .unwrap()
}

/// ZPA writes the simulator counted (sign-ins and the simulator's own routes aside).
async fn zpa_writes(world: &World) -> BTreeMap<String, u64> {
    let stats = world.sim(reqwest::Method::GET, "/__sim/stats", None).await;
    stats["byRoute"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(route, _)| {
            ["POST ", "PUT ", "DELETE ", "PATCH "].iter().any(|m| route.starts_with(m))
                && !route.contains("/signin")
                && !route.contains("/oauth2/")
        })
        .map(|(route, count)| (route.clone(), count.as_u64().unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_with_no_change_and_no_write() {
    let mut world = World::start_with("30m", &["--no-rate-limit"]);
    let client = tenant::client_for(&world.sim_url);
    // Objects in three scopes, with display names Kubernetes would not take.
    let payments = tenant::microtenant(&client, "Team Payments", "payments.example.com").await;
    let research = tenant::microtenant(&client, "research", "research.example.com").await;
    let eu = json!({"description": "eu", "securityControls": {"copyPaste": "none", "uploadDownload": "upstream", "flattenedPdf": true}});
    tenant::profile(&client, "Web Isolation (EU)", &Scope::Default, eu).await;
    tenant::profile(&client, "Web Isolation (EU)", &Scope::Microtenant(payments.clone()), json!({})).await;
    tenant::profile(
        &client,
        "Профиль",
        &Scope::Microtenant(research.clone()),
        json!({"userExperience": {"zgpu": true}}),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("provider-config.yaml");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: zpa-system}}\n\
             stringData: {{clientId: sim-client, clientSecret: sim-secret}}\n---\n\
             apiVersion: zpa.operator.dev/v1alpha1\nkind: ZpaProviderConfig\nmetadata: {{name: {}}}\n\
             spec: {{baseUrl: \"{}\", customerId: \"{}\", auth: legacy, credentialsSecretRef: {{namespace: zpa-system, name: creds}}}}\n",
            world.provider_config,
            world.sim_url,
            tenant::CUSTOMER_ID
        ),
    )
    .unwrap();
    let out = dir.path().join("exported");
    let config_path = config.to_str().unwrap().to_owned();
    let exported = run(vec![
        "export".into(),
        "-f".into(),
        config_path.clone(),
        "--management-policy".into(),
        "Manage".into(),
        "-n".into(),
        world.namespace.clone(),
        "-o".into(),
        out.to_str().unwrap().into(),
    ])
    .await;
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));

    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("sim-secret"), "{}: a credential was written", path.display());
        files.insert(path.file_name().unwrap().to_string_lossy().into_owned(), text);
    }
    // Three Microtenants (Default included) and four profiles (the Default scope's default one included).
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("microtenant-")).count(), 3, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("isolationprofile-")).count(), 4, "{names:?}");
    let doc = |file: &str| -> Value {
        serde_saphyr::from_str(files.get(file).unwrap_or_else(|| panic!("no {file} in {names:?}"))).unwrap()
    };
    let default_mt = doc("microtenant-default.yaml");
    assert_eq!(default_mt["spec"]["managementPolicy"], "ObserveOnly", "ZPA refuses to modify the Default Microtenant");
    assert_eq!(default_mt["spec"]["deletionPolicy"], "Orphan");
    assert_eq!(doc("microtenant-team-payments.yaml")["spec"]["externalId"], payments.as_str());
    assert_eq!(doc("microtenant-team-payments.yaml")["spec"]["managementPolicy"], "Manage");
    let eu = doc("isolationprofile-web-isolation-eu.yaml");
    assert_eq!(eu["spec"]["name"], "Web Isolation (EU)");
    assert_eq!(eu["spec"]["regions"], json!(["Frankfurt", "London"]), "regions by name");
    let scoped: Vec<Value> = files
        .keys()
        .filter(|f| f.starts_with("isolationprofile-"))
        .map(|f| doc(f))
        .filter(|d| !d["spec"]["microtenantRef"].is_null())
        .collect();
    let refs: Vec<&str> = scoped.iter().map(|d| d["spec"]["microtenantRef"]["name"].as_str().unwrap()).collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    assert!(refs.contains(&"team-payments") && refs.contains(&"research"), "{refs:?}");
    let defaults: Vec<Value> = files
        .keys()
        .filter(|f| f.starts_with("isolationprofile-"))
        .map(|f| doc(f))
        .filter(|d| d["spec"]["isDefault"] == true)
        .collect();
    assert!(!defaults.is_empty());
    assert!(defaults.iter().all(|d| d["spec"]["deletionPolicy"] == "Orphan"), "default profiles are never deleted");

    // plan on the result: nothing to change.
    let planned = run(vec![
        "plan".into(),
        "-o".into(),
        "json".into(),
        "-f".into(),
        config_path,
        "-f".into(),
        out.to_str().unwrap().into(),
    ])
    .await;
    let report: Value = serde_json::from_slice(&planned.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&planned.stderr)));
    assert_eq!(planned.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["inSync"], 7, "{report:#}");

    // Applied to the cluster: the operator adopts every object, and writes nothing to ZPA.
    let before = zpa_writes(&world).await;
    world.apply_provider_config();
    world.start_operator();
    world.kubectl_ok(&["apply", "-f", out.to_str().unwrap()]);
    for file in files.keys() {
        let manifest = doc(file);
        let name = manifest["metadata"]["name"].as_str().unwrap();
        let kind = manifest["kind"].as_str().unwrap();
        world.wait_ready(kind, name).await;
    }
    assert_eq!(zpa_writes(&world).await, before, "the operator wrote to ZPA");
}
