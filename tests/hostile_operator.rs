//! The operator against a ZPA API that answers with malformed bodies (the
//! simulator's `malformedBody` fault): the object gets `Synced=False` with
//! reason `InvalidResponse` and a Warning event, nothing is written on the
//! strength of a bad answer, other objects keep working, and everything
//! recovers once the API answers sanely again.

mod support;

use serde_json::{Value, json};
use support::cluster::{Cluster, condition, remote_profiles_named};
use zpa_operator::crd::{IsolationProfile, Microtenant};
use zpa_operator::simulator::{FaultConfig, MalformedBodyFault, MalformedMode};

const POST_PROFILES: &str = "POST /cbiconfig/cbi/api/customers/{customerId}/profiles";

fn profile(name: &str) -> Value {
    json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "metadata": {"name": name},
        "spec": {"description": "isolate", "regions": ["Frankfurt", "London"]}
    })
}

fn malformed(mode: MalformedMode, method: Option<&str>, path: &str, count: Option<u32>) -> FaultConfig {
    FaultConfig {
        malformed_body: Some(MalformedBodyFault {
            mode,
            count,
            method: method.map(str::to_owned),
            path: Some(path.to_owned()),
        }),
        ..FaultConfig::default()
    }
}

fn posts(cluster: &Cluster) -> u64 {
    cluster.sim.stats().by_route.get(POST_PROFILES).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_are_reported_and_the_operator_recovers() {
    let cluster = Cluster::start().await;
    for (name, mode) in
        [("cut", MalformedMode::Truncate), ("noise", MalformedMode::Garbage), ("mistyped", MalformedMode::WrongTypes)]
    {
        // Every CBI read is corrupted: the region list the profile needs cannot be read.
        cluster.sim.set_faults(malformed(mode, Some("GET"), "/cbiconfig", None)).unwrap();
        cluster.apply(profile(name)).await;
        let object = cluster
            .wait_for::<IsolationProfile>(name, "Synced=False InvalidResponse", |o| {
                condition(o, "Synced").is_some_and(|c| c.status == "False" && c.reason == "InvalidResponse")
            })
            .await;
        let message = condition(&object, "Synced").unwrap().message;
        assert!(message.contains("invalid response from ZPA"), "{mode:?}: {message}");
        assert_eq!(condition(&object, "Ready").unwrap().status, "False");
        cluster.wait_event(name, "InvalidResponse", "invalid response from ZPA").await;
    }
    assert_eq!(posts(&cluster), 0, "nothing is created on the strength of an unreadable answer");

    // The operator keeps serving objects whose API is sane.
    cluster
        .apply(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
            "metadata": {"name": "unaffected"},
            "spec": {"criteriaAttributeValues": ["unaffected.example.com"]}
        }))
        .await;
    cluster.wait_ready::<Microtenant>("unaffected").await;

    // The API heals: every profile converges, once.
    cluster.sim.set_faults(FaultConfig::default()).unwrap();
    for name in ["cut", "noise", "mistyped"] {
        let object = cluster.wait_ready::<IsolationProfile>(name).await;
        let remote = remote_profiles_named(&cluster.remote_state().await, name);
        assert_eq!(remote.len(), 1, "{name}: exactly one remote profile");
        assert_eq!(object["status"]["id"], remote[0]["id"]);
    }
    assert_eq!(posts(&cluster), 3);
}

/// A create that ZPA applied but answered with garbage: the operator cannot
/// know the id, so it keeps its create-pending marker, looks before creating
/// again, and adopts the one profile that exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_with_garbage_is_found_not_duplicated() {
    let cluster = Cluster::start().await;
    cluster.sim.set_faults(malformed(MalformedMode::Garbage, Some("POST"), "/profiles", Some(1))).unwrap();
    let name = "Zürich 隔離 🔒 profile";
    let mut manifest = profile("garbled");
    manifest["spec"]["name"] = json!(name);
    cluster.apply(manifest).await;
    cluster.wait_event("garbled", "ReconcileError", "no response to POST").await;
    let object = cluster.wait_ready::<IsolationProfile>("garbled").await;
    let remote = remote_profiles_named(&cluster.remote_state().await, name);
    assert_eq!(remote.len(), 1, "exactly one remote profile: {remote:?}");
    assert_eq!(object["status"]["id"], remote[0]["id"]);
    assert_eq!(object["status"]["atProvider"]["name"], name, "the unicode name comes back unchanged");
    assert_eq!(posts(&cluster), 1, "never a second POST");
}
