//! Events as Kubernetes means them, on the real API server: one per
//! transition a person would want to see, and the repeats of one failure on
//! one object in that Event's series (events.k8s.io/v1), not in new objects.
//! Also what a create leaves in metadata: the finalizer and the marker, one
//! write, and no id annotation (the status holds the id).

mod support;

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use support::cluster::{Cluster, condition};
use support::eventually;
use support::manifests::{self, with_spec};
use zpa_operator::crd::{IsolationProfile, Microtenant};

const FINALIZER: &str = "zpa.operator.dev/finalizer";

/// The Events about `name`, as the API server stores them.
async fn events_about(cluster: &Cluster, name: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(cluster.kube.clone(), &cluster.namespace);
    let list = events.list(&Default::default()).await.expect("events list");
    list.items.into_iter().filter(|e| e.regarding.as_ref().is_some_and(|r| r.name.as_deref() == Some(name))).collect()
}

fn reasons(events: &[Event]) -> Vec<String> {
    let mut reasons: Vec<String> = events.iter().map(|e| e.reason.clone().unwrap_or_default()).collect();
    reasons.sort();
    reasons
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converge_tells_each_create_once_and_a_persisting_failure_goes_to_one_series() {
    let cluster = Cluster::start().await;
    let microtenant =
        with_spec(manifests::microtenant("ledger"), json!({"criteriaAttributeValues": ["ledger.example.com"]}));
    cluster.apply(microtenant).await;
    for name in ["alpha", "beta"] {
        cluster.apply(manifests::profile(name)).await;
    }
    cluster.wait_ready::<Microtenant>("ledger").await;
    for name in ["alpha", "beta"] {
        let object = cluster
            .wait_for::<IsolationProfile>(name, "Ready with its ZPA-side id", |o| {
                condition(o, "Ready").is_some_and(|c| c.status == "True") && o["status"]["zpaProfileId"].is_string()
            })
            .await;
        let metadata = &object["metadata"];
        assert_eq!(metadata["finalizers"], json!([FINALIZER]), "{name}: {metadata}");
        assert!(metadata["annotations"]["zpa.operator.dev/create-pending"].is_string(), "{name}: the marker stays");
        assert_eq!(metadata["annotations"].get("zpa.operator.dev/external-id"), None, "{name}: the id is the status's");
        assert!(object["status"]["id"].is_string(), "{name}: {object}");
    }
    // A Microtenant's create is two things to see: the object, and where its
    // admin credentials went.
    let told = [("ledger", &["Created", "CredentialsStored"][..]), ("alpha", &["Created"]), ("beta", &["Created"])];
    for (name, expected) in told {
        // Created is told after the status write: wait for it, then count.
        cluster.wait_event(name, "Created", "created ZPA object").await;
        let events = events_about(&cluster, name).await;
        assert_eq!(reasons(&events), expected, "{name}: one Event per transition: {events:?}");
    }

    // A reference that does not exist: the failure persists through ten
    // reconciles (each a spec edit, so each is a reconcile of its own).
    let broken = with_spec(manifests::profile("broken"), json!({"microtenantRef": {"name": "missing"}}));
    cluster.apply(broken).await;
    let failing = cluster
        .wait_for::<IsolationProfile>("broken", "the missing reference reported", |o| {
            condition(o, "Synced").is_some_and(|c| c.status == "False" && c.reason == "ReferenceNotFound")
        })
        .await;
    assert!(failing["metadata"].get("finalizers").is_none(), "nothing remote, so no finalizer: {failing}");
    let api: Api<IsolationProfile> = cluster.api(Some(&cluster.namespace));
    let observed = |events: &[Event]| -> Option<i32> {
        let event = events.iter().find(|e| e.reason.as_deref() == Some("ReferenceNotFound"))?;
        Some(event.series.as_ref().map_or(1, |s| s.count))
    };
    let mut seen = eventually("the first Warning", std::time::Duration::from_secs(20), || async {
        observed(&events_about(&cluster, "broken").await)
    })
    .await;
    for edit in 1..=10 {
        let patch = json!({"spec": {"description": format!("edit {edit}")}});
        api.patch("broken", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("spec edit");
        seen = eventually("the repeat counted in the series", std::time::Duration::from_secs(30), || async {
            observed(&events_about(&cluster, "broken").await).filter(|count| *count > seen)
        })
        .await;
    }
    let events = events_about(&cluster, "broken").await;
    assert_eq!(reasons(&events), ["ReferenceNotFound"], "one Event object for one failure: {events:?}");
    let series = events[0].series.as_ref().map(|s| s.count);
    assert!(series.is_some_and(|count| count >= 11), "every repeat in its series: {series:?}");
    let note: Value = json!(events[0].note);
    assert!(note.as_str().is_some_and(|n| n.contains("missing")), "{note}");
}
