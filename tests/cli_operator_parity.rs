//! `sync` decides exactly as the operator does. One set of manifests goes
//! through the operator (the real binary on the real API server, applied one
//! by one, each waited for) and through `zpa-operator sync -o json` (against
//! a second simulator seeded the same way); every object must end the same:
//! created, adopted, or failed with the same reason (AlreadyExists for a
//! name another object holds, whether it was there before or created by an
//! earlier manifest; AmbiguousName; ExternalNotFound; ReferenceNotFound;
//! CreateIncomplete for a create-pending marker with two candidates).
//!
//! Tools: the real control plane and the Go-built kubectl. A missing tool
//! fails with one line.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use support::processes::{World, has_condition, operator_binary};
use support::tenant;
use zpa_operator::zpa::{Scope, ZpaClient};

/// The same objects in each tenant before anything is applied.
async fn seed(client: &ZpaClient) {
    tenant::microtenant(client, "Taken", "taken.example.com").await;
    tenant::microtenant(client, "Adoptable", "adoptable.example.com").await;
    tenant::profile(client, "Twin", &Scope::Default, json!({})).await;
    tenant::profile(client, "Twin", &Scope::Default, json!({})).await;
    tenant::profile(client, "Halfway", &Scope::Default, json!({})).await;
    tenant::profile(client, "Halfway", &Scope::Default, json!({})).await;
}

/// The manifests, in the order both apply them (Microtenants first, as `sync` does).
fn manifests() -> Vec<Value> {
    let mt = |name: &str, spec: Value| json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant", "metadata": {"name": name}, "spec": spec});
    let profile = |name: &str, mut spec: Value| {
        if spec["regions"].is_null() {
            spec["regions"] = json!(["Frankfurt", "London"]);
        }
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile", "metadata": {"name": name}, "spec": spec})
    };
    let pending = json!({"zpa.operator.dev/create-pending": "{\"at\":\"2020-01-01T00:00:00Z\",\"name\":\"Halfway\"}"});
    let mut halfway = profile("halfway", json!({"name": "Halfway"}));
    halfway["metadata"]["annotations"] = pending;
    vec![
        mt("fresh", json!({"name": "Fresh", "enabled": true, "criteriaAttributeValues": ["fresh.example.com"]})),
        mt("clash", json!({"name": "Taken", "criteriaAttributeValues": ["clash.example.com"]})),
        mt(
            "adopt",
            json!({"name": "Adoptable", "adoption": "ByName", "enabled": true,
                   "criteriaAttributeValues": ["adoptable.example.com"]}),
        ),
        mt("fresh-again", json!({"name": "Fresh", "criteriaAttributeValues": ["again.example.com"]})),
        profile("created", json!({"description": "new"})),
        profile("twin", json!({"name": "Twin", "adoption": "ByName"})),
        profile("twin-never", json!({"name": "Twin"})),
        profile("bad-region", json!({"regions": ["Atlantis", "Frankfurt"]})),
        profile("missing-external", json!({"externalId": "00000000-0000-4000-8000-000000000000"})),
        profile("scoped", json!({"microtenantRef": {"name": "fresh"}})),
        profile("no-such-microtenant", json!({"microtenantRef": {"name": "nope"}})),
        profile("observe-nothing", json!({"name": "Nowhere", "managementPolicy": "ObserveOnly"})),
        halfway,
    ]
}

/// The operator's outcome for an object: `created`/`adopted`/`inSync` when
/// Ready and Synced, else the `Synced` reason.
async fn operator_outcome(world: &World, kind: &str, name: &str) -> String {
    let object = world
        .wait_for(kind, name, "a Synced condition for its generation", |o| {
            o["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Synced" && c["observedGeneration"] == o["metadata"]["generation"])
                && (has_condition(o, "Synced", "False", None) || has_condition(o, "Ready", "True", None))
        })
        .await;
    if has_condition(&object, "Synced", "False", None) {
        let synced = object["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Synced").unwrap();
        return synced["reason"].as_str().unwrap().to_owned();
    }
    let events =
        world.kubectl_ok(&["get", "events", "--field-selector", &format!("involvedObject.name={name}"), "-o", "json"]);
    let events: Value = serde_json::from_str(&events).unwrap();
    let reasons: Vec<&str> =
        events["items"].as_array().into_iter().flatten().filter_map(|e| e["reason"].as_str()).collect();
    if reasons.contains(&"Created") {
        "created".into()
    } else if reasons.contains(&"Adopted") {
        "adopted".into()
    } else {
        "inSync".into()
    }
}

fn cli_outcome(object: &Value) -> String {
    match (object["action"].as_str(), object["adopted"].as_bool()) {
        (Some("failed"), _) => object["reason"].as_str().unwrap_or_default().to_owned(),
        (Some("create"), _) => "created".into(),
        (Some("inSync" | "update" | "drift"), Some(true)) => "adopted".into(),
        (Some(action), _) => action.to_owned(),
        (None, _) => format!("no action: {object}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_the_operator_end_every_object_alike() {
    let mut world = World::start_with("30m", &["--no-rate-limit"]);
    seed(&tenant::client_for(&world.sim_url)).await;
    let cli_sim = support::simulator().await;
    seed(&tenant::client_for(&cli_sim.base_url())).await;

    // The operator: one manifest at a time, each settled before the next.
    world.apply_provider_config();
    world.start_operator();
    let mut by_operator = BTreeMap::new();
    for doc in manifests() {
        let (kind, name) =
            (doc["kind"].as_str().unwrap().to_owned(), doc["metadata"]["name"].as_str().unwrap().to_owned());
        let applied = world.apply(&format!("{name}.json"), &serde_json::to_string(&doc).unwrap());
        assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
        by_operator.insert(format!("{kind}/{name}"), operator_outcome(&world, &kind, &name).await);
    }

    // sync: the same manifests, with a provider config for its own simulator.
    let dir = tempfile::tempdir().unwrap();
    let mut stream = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: zpa-system}}\n\
         stringData: {{clientId: sim-client, clientSecret: sim-secret}}\n---\n\
         apiVersion: zpa.operator.dev/v1alpha1\nkind: ZpaProviderConfig\nmetadata: {{name: default}}\n\
         spec: {{baseUrl: \"{}\", customerId: \"{}\", auth: legacy, credentialsSecretRef: {{namespace: zpa-system, name: creds}}}}\n",
        cli_sim.base_url(),
        tenant::CUSTOMER_ID
    );
    for doc in manifests() {
        stream.push_str("---\n");
        stream.push_str(&serde_json::to_string(&doc).unwrap());
        stream.push('\n');
    }
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, stream).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(operator_binary())
            .args(["sync", "-o", "json", "-f", file.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .expect("sync runs")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    });
    let by_sync: BTreeMap<String, String> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (format!("{}/{}", o["kind"].as_str().unwrap(), o["name"].as_str().unwrap()), cli_outcome(o)))
        .collect();

    assert_eq!(by_sync, by_operator, "sync and the operator disagree\nsync report: {report:#}");
    // And what they agree on is what the contract says.
    let expected = [
        ("Microtenant/fresh", "created"),
        ("Microtenant/clash", "AlreadyExists"),
        ("Microtenant/adopt", "adopted"),
        ("Microtenant/fresh-again", "AlreadyExists"),
        ("IsolationProfile/created", "created"),
        ("IsolationProfile/twin", "AmbiguousName"),
        ("IsolationProfile/twin-never", "AlreadyExists"),
        ("IsolationProfile/bad-region", "ReferenceNotFound"),
        ("IsolationProfile/missing-external", "ExternalNotFound"),
        ("IsolationProfile/scoped", "created"),
        ("IsolationProfile/no-such-microtenant", "ReferenceNotFound"),
        ("IsolationProfile/observe-nothing", "ExternalNotFound"),
        ("IsolationProfile/halfway", "CreateIncomplete"),
    ];
    for (object, outcome) in expected {
        assert_eq!(by_operator.get(object).map(String::as_str), Some(outcome), "{object}: {by_operator:?}");
    }
    assert_eq!(output.status.code(), Some(1), "sync reports the failures");
}
