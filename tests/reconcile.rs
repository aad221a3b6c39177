//! The real controllers, in-process, against the real kube-apiserver and the
//! ZPA simulator, both over HTTP: what lands in ZPA and what is written back.

mod support;

use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::cluster::{Cluster, condition, remote_microtenants_named, remote_profiles_named};
use support::manifests::routes::{POST_MICROTENANTS, POST_PROFILES, PUT_PROFILE};
use support::manifests::{self, with_spec};
use support::{CapturedLogs, eventually, metric_sum, simulator};
use zpa_operator::crd::{IsolationProfile, Microtenant};
use zpa_operator::simulator::{DropFault, FaultConfig};
use zpa_operator::zpa::Scope;

fn microtenant(name: &str, domain: &str, extra: Value) -> Value {
    let manifest = with_spec(manifests::microtenant(name), json!({"criteriaAttributeValues": [domain]}));
    with_spec(manifest, extra)
}

fn profile(name: &str, extra: Value) -> Value {
    with_spec(manifests::profile(name), extra)
}

fn count(cluster: &Cluster, route: &str) -> u64 {
    cluster.sim.stats().by_route.get(route).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_objects_and_writes_ids_and_credentials_back() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    let cluster = Cluster::start().await;
    cluster.apply(microtenant("payments", "payments.example.com", json!({}))).await;
    cluster.apply(profile("web", json!({"microtenantRef": {"name": "payments"}}))).await;

    let mt = cluster.wait_ready::<Microtenant>("payments").await;
    let mt_id = mt["status"]["id"].as_str().expect("Microtenant id written back").to_owned();
    let isop = cluster
        .wait_for::<IsolationProfile>("web", "Ready with a ZPA-side id", |o| {
            condition(o, "Ready").is_some_and(|c| c.status == "True") && o["status"]["zpaProfileId"].is_string()
        })
        .await;
    assert_eq!(isop["status"]["microtenantId"], mt_id, "scoped to the Microtenant");
    let profile_id = isop["status"]["id"].as_str().unwrap();

    let state = cluster.remote_state().await;
    let remote = &state["profiles"][&mt_id];
    assert_eq!(remote.as_array().unwrap().len(), 1, "one profile in the Microtenant scope: {remote}");
    assert_eq!(remote[0]["id"], profile_id);
    let zpa_side: Vec<&Value> =
        state["zpaProfiles"].as_array().unwrap().iter().filter(|z| z["isolationProfileId"] == profile_id).collect();
    assert_eq!(zpa_side[0]["id"], isop["status"]["zpaProfileId"]);
    assert_eq!(isop["status"]["atProvider"]["regions"][0]["name"], "Frankfurt");
    let annotations = &isop["metadata"]["annotations"];
    assert_eq!(annotations.get("zpa.operator.dev/external-id"), None, "the id is the status's: no write of its own");
    assert_eq!(isop["metadata"]["finalizers"], json!(["zpa.operator.dev/finalizer"]), "on since the marker");

    // The admin credentials are in the Secret, owned by the Microtenant, and nowhere else.
    let secrets = cluster.api::<k8s_openapi::api::core::v1::Secret>(None);
    let secret = secrets.get("payments-admin").await.expect("credentials Secret written");
    let data = secret.data.clone().unwrap();
    let username = String::from_utf8(data["username"].0.clone()).unwrap();
    let password = String::from_utf8(data["password"].0.clone()).unwrap();
    assert!(username.starts_with("mtAdmin_") && password.len() >= 8);
    assert_eq!(secret.metadata.owner_references.unwrap()[0].uid, mt["metadata"]["uid"].as_str().unwrap());
    assert!(!mt.to_string().contains(&username), "the credentials live in the Secret only");
    let everywhere = format!(
        "{mt} {isop} {:?} {:?} {}",
        cluster.events_for("payments").await,
        cluster.events_for("web").await,
        cluster.metrics.encode()
    );
    assert!(!everywhere.contains(&password), "the password leaked into status, events or metrics");
    assert!(!logs.text().contains(&password), "the password leaked into the logs");
    assert_eq!(count(&cluster, POST_MICROTENANTS), 1);
    assert_eq!(count(&cluster, POST_PROFILES), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_edit_is_one_put_and_nothing_else_changes() {
    let cluster = Cluster::start_with_resync(std::time::Duration::from_secs(600)).await;
    cluster.apply(profile("edit-me", json!({}))).await;
    cluster.wait_ready::<IsolationProfile>("edit-me").await;
    let puts_before = count(&cluster, PUT_PROFILE);
    cluster.apply(profile("edit-me", json!({"description": "edited"}))).await;
    let object = cluster
        .wait_for::<IsolationProfile>("edit-me", "the edit in atProvider", |o| {
            o["status"]["atProvider"]["description"] == "edited"
        })
        .await;
    assert_eq!(condition(&object, "Synced").unwrap().reason, "ReconcileSuccess");
    assert_eq!(count(&cluster, PUT_PROFILE) - puts_before, 1, "exactly one PUT");
    let remote = remote_profiles_named(&cluster.remote_state().await, "edit-me");
    assert_eq!(remote[0]["description"], "edited");
    assert_eq!(remote[0]["securityControls"]["copyPaste"], "none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_made_behind_the_operators_back_is_corrected_at_resync() {
    let cluster = Cluster::start().await; // 3 s resync
    cluster.apply(microtenant("drifty", "drifty.example.com", json!({}))).await;
    let object = cluster.wait_ready::<Microtenant>("drifty").await;
    let id = object["status"]["id"].as_str().unwrap().to_owned();
    cluster.drift("microtenants", &id, json!({"description": "changed in the portal", "enabled": false})).await;
    eventually("drift corrected", std::time::Duration::from_secs(20), || async {
        let remote = remote_microtenants_named(&cluster.remote_state().await, "drifty");
        (remote[0]["description"] == "team drifty" && remote[0]["enabled"] == true).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_remote_object_and_orphan_keeps_it() {
    let cluster = Cluster::start().await;
    cluster.apply(profile("doomed", json!({}))).await;
    cluster.apply(profile("kept", json!({"deletionPolicy": "Orphan"}))).await;
    cluster.wait_ready::<IsolationProfile>("doomed").await;
    cluster.wait_ready::<IsolationProfile>("kept").await;
    let api = cluster.api::<IsolationProfile>(None);
    api.delete("doomed", &DeleteParams::default()).await.unwrap();
    api.delete("kept", &DeleteParams::default()).await.unwrap();
    cluster.wait_gone::<IsolationProfile>("doomed").await;
    cluster.wait_gone::<IsolationProfile>("kept").await;
    let state = cluster.remote_state().await;
    assert!(remote_profiles_named(&state, "doomed").is_empty(), "deleted in ZPA");
    assert_eq!(remote_profiles_named(&state, "kept").len(), 1, "orphaned in ZPA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_an_existing_object_by_name_without_creating() {
    let cluster = Cluster::start().await;
    let existing = cluster
        .zpa
        .create_microtenant(
            &serde_json::from_value(json!({"name": "legacy-team", "criteriaAttribute": "AuthDomain",
            "criteriaAttributeValues": ["legacy.example.com"], "description": "made by hand"}))
            .unwrap(),
        )
        .await
        .unwrap();
    let posts = count(&cluster, POST_MICROTENANTS);
    cluster.apply(microtenant("legacy-team", "legacy.example.com", json!({"adoption": "ByName"}))).await;
    let object = cluster.wait_ready::<Microtenant>("legacy-team").await;
    assert_eq!(object["status"]["id"], existing.id.unwrap().as_str());
    assert_eq!(count(&cluster, POST_MICROTENANTS), posts, "adopted, not created");
    let remote = remote_microtenants_named(&cluster.remote_state().await, "legacy-team");
    assert_eq!(remote[0]["description"], "team legacy-team", "then brought in line with the spec");
    cluster.wait_event("legacy-team", "Adopted", "adopted existing ZPA object").await;

    // Without adoption, the same clash is an error and nothing is created.
    cluster.apply(microtenant("clash", "clash.example.com", json!({"name": "legacy-team"}))).await;
    let clash = cluster
        .wait_for::<Microtenant>("clash", "AlreadyExists", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "AlreadyExists")
        })
        .await;
    assert!(condition(&clash, "Synced").unwrap().message.contains("adoption: ByName"));
    assert_eq!(count(&cluster, POST_MICROTENANTS), posts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_create_and_id_write_leaves_exactly_one_remote_object() {
    let mut cluster = Cluster::start().await;
    cluster
        .sim
        .set_faults(FaultConfig {
            drop_after_commit: Some(DropFault {
                count: 1,
                method: Some("POST".into()),
                path: Some("/microtenants".into()),
            }),
            ..Default::default()
        })
        .unwrap();
    cluster.apply(microtenant("crashy", "crashy.example.com", json!({}))).await;
    // The create happened and its answer was lost: the operator says so.
    cluster.wait_event("crashy", "ReconcileError", "no response to POST").await;
    // It crashes. Its own retry may have adopted the object already (under
    // load, before the stop); what the crash leaves is the marker and no id,
    // so the object is put back into exactly that state before the restart.
    cluster.stop_operator_and_wait().await;
    cluster.set_crashed_after_post("crashy", "crashy").await;
    // An operator restarted from scratch (no cache, no memory) finds it by name.
    let adopted = |events: Vec<(String, String)>| {
        events
            .iter()
            .filter(|(reason, note)| reason == "Adopted" && note.contains("adopted existing ZPA object"))
            .count()
    };
    let adopted_before = adopted(cluster.events_for("crashy").await);
    cluster.start_operator();
    eventually("the restarted operator's Adopted event", std::time::Duration::from_secs(20), || async {
        (adopted(cluster.events_for("crashy").await) > adopted_before).then_some(())
    })
    .await;
    let object = cluster
        .wait_for::<Microtenant>("crashy", "the id recorded again", |o| {
            !o["status"]["id"].is_null() && condition(o, "Ready").is_some_and(|c| c.status == "True")
        })
        .await;
    let events: Vec<String> = cluster.events_for("crashy").await.into_iter().map(|(reason, _)| reason).collect();
    assert!(!events.contains(&"Created".to_owned()), "{events:?}");
    let remote = remote_microtenants_named(&cluster.remote_state().await, "crashy");
    assert_eq!(remote.len(), 1, "exactly one remote object");
    assert_eq!(object["status"]["id"], remote[0]["id"]);
    // The marker stays, as after every create: the id in status supersedes it.
    assert!(object["metadata"]["annotations"]["zpa.operator.dev/create-pending"].is_string());
    assert_eq!(count(&cluster, POST_MICROTENANTS), 1, "never a second POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_region_name_is_reported_and_nothing_is_created() {
    let cluster = Cluster::start().await;
    cluster.apply(profile("lost", json!({"regions": ["Frankfurt", "Atlantis"]}))).await;
    let object = cluster
        .wait_for::<IsolationProfile>("lost", "ReferenceNotFound", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "ReferenceNotFound")
        })
        .await;
    let message = condition(&object, "Synced").unwrap().message;
    assert!(message.contains("\"Atlantis\"") && message.contains("Frankfurt"), "{message}");
    assert_eq!(condition(&object, "Ready").unwrap().status, "False");
    assert_eq!(count(&cluster, POST_PROFILES), 0);
    cluster.wait_event("lost", "ReferenceNotFound", "Atlantis").await;
}

/// The cache keeps only a digest of `atProvider` (`controller/cached.rs`): a
/// status written without a new observation must keep the one shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_edit_keeps_the_last_observation_in_the_status() {
    let cluster = Cluster::start_with_resync(std::time::Duration::from_secs(600)).await;
    cluster.apply(profile("observed", json!({}))).await;
    let ready = cluster.wait_ready::<IsolationProfile>("observed").await;
    let observed = ready["status"]["atProvider"].clone();
    assert_eq!(observed["regions"][0]["name"], "Frankfurt", "{observed}");
    cluster.apply(profile("observed", json!({"regions": ["Frankfurt", "Atlantis"], "description": "new"}))).await;
    let failed = cluster
        .wait_for::<IsolationProfile>("observed", "ReferenceNotFound", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "ReferenceNotFound")
        })
        .await;
    assert_eq!(failed["status"]["atProvider"], observed, "ZPA still holds what was observed");
    assert_eq!(count(&cluster, PUT_PROFILE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_credentials_secret_is_reported_then_heals_when_it_appears() {
    let cluster = Cluster::start().await;
    let other = support::controlplane::unique_name("other");
    cluster.create_provider_config(&other, "late-credentials", false).await;
    cluster.apply(microtenant("waiting", "waiting.example.com", json!({"providerConfigRef": {"name": other}}))).await;
    let object = cluster
        .wait_for::<Microtenant>("waiting", "ReferenceNotFound", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "ReferenceNotFound")
        })
        .await;
    let missing = format!("Secret {}/late-credentials", cluster.system_namespace);
    assert!(condition(&object, "Synced").unwrap().message.contains(&missing));
    assert_eq!(count(&cluster, POST_MICROTENANTS), 0);
    cluster.create_credentials_secret("late-credentials").await;
    cluster.wait_ready::<Microtenant>("waiting").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_only_reports_drift_and_paused_stops_remote_calls() {
    let cluster = Cluster::start().await;
    cluster.apply(microtenant("watched", "watched.example.com", json!({}))).await;
    cluster.wait_ready::<Microtenant>("watched").await;
    // A second object observes the same remote Microtenant and wants another description.
    cluster
        .apply(microtenant(
            "observer",
            "watched.example.com",
            json!({"name": "watched", "managementPolicy": "ObserveOnly", "description": "something else"}),
        ))
        .await;
    let observer = cluster
        .wait_for::<Microtenant>("observer", "ObserveOnlyDrift", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "ObserveOnlyDrift")
        })
        .await;
    assert!(condition(&observer, "Synced").unwrap().message.contains("description"));
    assert_eq!(
        remote_microtenants_named(&cluster.remote_state().await, "watched")[0]["description"],
        "team watched",
        "never written"
    );

    let api = cluster.api::<Microtenant>(None);
    let pause = json!({"metadata": {"annotations": {"zpa.operator.dev/paused": "true"}}});
    api.patch("watched", &PatchParams::default(), &Patch::Merge(&pause)).await.unwrap();
    cluster
        .wait_for::<Microtenant>("watched", "ReconcilePaused", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "ReconcilePaused")
        })
        .await;
    cluster.api::<Microtenant>(None).delete("observer", &DeleteParams::default()).await.unwrap();
    cluster.wait_gone::<Microtenant>("observer").await;
    let microtenant_calls = || -> u64 {
        cluster.sim.stats().by_route.iter().filter(|(route, _)| route.contains("/microtenants")).map(|(_, n)| n).sum()
    };
    let before = microtenant_calls();
    let reconciles = || metric_sum(&cluster.metrics.encode(), "zpa_operator_reconciles_total", "kind=\"Microtenant\"");
    let reconciled_before = reconciles();
    cluster.apply(microtenant("watched", "watched.example.com", json!({"description": "while paused"}))).await;
    cluster.wait_for::<Microtenant>("watched", "the edit seen", |o| o["metadata"]["generation"] == 2).await;
    // The paused object's reconcile of the edit has run, and made no call.
    eventually("the edit reconciled", std::time::Duration::from_secs(20), || async {
        (reconciles() > reconciled_before).then_some(())
    })
    .await;
    assert_eq!(microtenant_calls(), before, "no Microtenant call to ZPA while paused");
    assert_eq!(remote_microtenants_named(&cluster.remote_state().await, "watched")[0]["description"], "team watched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_microtenant_that_still_has_profiles_is_reported_not_stuck_silently() {
    let cluster = Cluster::start().await;
    cluster.apply(microtenant("busy", "busy.example.com", json!({}))).await;
    let mt = cluster.wait_ready::<Microtenant>("busy").await;
    let mt_id = mt["status"]["id"].as_str().unwrap().to_owned();
    // A profile in its scope that the operator does not manage.
    let regions: Vec<String> = cluster.zpa.list_regions().await.unwrap().into_iter().take(2).map(|r| r.id).collect();
    let body = serde_json::from_value(json!({"name": "hand-made", "regionIds": regions})).unwrap();
    cluster.zpa.create_profile(&body, &Scope::Microtenant(mt_id.clone())).await.unwrap();

    cluster.api::<Microtenant>(None).delete("busy", &DeleteParams::default()).await.unwrap();
    let object = cluster
        .wait_for::<Microtenant>("busy", "DeleteRefused", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "DeleteRefused")
        })
        .await;
    assert!(condition(&object, "Synced").unwrap().message.contains(&mt_id));
    assert_eq!(condition(&object, "Ready").unwrap().reason, "Deleting");
    cluster.wait_event("busy", "DeleteRefused", &mt_id).await;
    assert_eq!(remote_microtenants_named(&cluster.remote_state().await, "busy").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_scoped_operator_leaves_other_namespaces_alone() {
    let mut cluster = Cluster::without_operator(std::time::Duration::from_secs(600), simulator()).await;
    let team_a = cluster.create_namespace("team-a").await;
    cluster.watch_only(vec![team_a.clone()]);
    cluster.start_operator();
    cluster.apply(manifests::in_namespace(microtenant("inside", "inside.example.com", json!({})), &team_a)).await;
    cluster.apply(microtenant("outside", "outside.example.com", json!({}))).await;
    let api = cluster.api::<Microtenant>(Some(&team_a));
    eventually("the watched namespace reconciled", std::time::Duration::from_secs(20), || async {
        let object = api.get("inside").await.ok()?;
        object.status.and_then(|s| s.managed.id)
    })
    .await;
    let outside = cluster.get::<Microtenant>("outside").await.unwrap();
    // The API server defaults status to observedGeneration 0; the operator adds nothing to it.
    let untouched = outside.status.as_ref().is_none_or(|s| {
        s.managed.id.is_none() && s.managed.conditions.is_empty() && s.managed.observed_generation.unwrap_or(0) == 0
    });
    assert!(untouched && outside.metadata.finalizers.is_none(), "the other namespace was not touched: {outside:?}");
    assert!(remote_microtenants_named(&cluster.remote_state().await, "outside").is_empty());
}

const GET_PROFILES: &str = "GET /cbiconfig/cbi/api/customers/{customerId}/profiles";
const GET_PROFILE: &str = "GET /cbiconfig/cbi/api/customers/{customerId}/profiles/{profileId}";

/// ZPA puts the Zscaler Root Certificate on every profile; a spec that lists
/// only its own certificate is in sync with that, not a PUT every resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_without_the_root_certificate_costs_no_write_over_resyncs() {
    let cluster = Cluster::start().await; // 3 s resync
    cluster.apply(profile("rooted", json!({"certificates": ["Corporate Root CA"]}))).await;
    cluster.wait_ready::<IsolationProfile>("rooted").await;
    let remote = remote_profiles_named(&cluster.remote_state().await, "rooted");
    let names: Vec<&str> =
        remote[0]["certificates"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Zscaler Root Certificate", "Corporate Root CA"], "ZPA added its root");

    let reads = || count(&cluster, GET_PROFILES) + count(&cluster, GET_PROFILE);
    let before = reads();
    eventually("three resyncs", std::time::Duration::from_secs(30), || async { (reads() >= before + 3).then_some(()) })
        .await;
    assert_eq!(count(&cluster, PUT_PROFILE), 0, "no write at any resync");
    let object = cluster.wait_for::<IsolationProfile>("rooted", "the object", |_| true).await;
    assert_eq!(condition(&object, "Synced").unwrap().reason, "ReconcileSuccess");
    let certificates = &object["status"]["atProvider"]["certificates"];
    assert_eq!(certificates.as_array().map(Vec::len), Some(2), "atProvider shows what ZPA holds: {certificates}");
}

/// A Microtenant with privileged approvals and no domain (created on a real
/// tenant): accepted by the CRD, created with both flags sent explicitly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_microtenant_without_domains_is_created_with_explicit_flags() {
    let cluster = Cluster::start().await;
    cluster
        .apply(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
            "metadata": {"name": "approvals-only"},
            "spec": {"privilegedApprovalsEnabled": true}
        }))
        .await;
    cluster.wait_ready::<Microtenant>("approvals-only").await;
    let sent = cluster.sim.last_request(POST_MICROTENANTS).expect("the create was recorded").body;
    assert_eq!(sent["enabled"], false, "unset, sent as false: {sent}");
    assert_eq!(sent["privilegedApprovalsEnabled"], true);
    assert!(sent.get("criteriaAttributeValues").is_none(), "{sent}");
    let remote = remote_microtenants_named(&cluster.remote_state().await, "approvals-only");
    assert_eq!(
        (remote[0]["enabled"].clone(), remote[0]["privilegedApprovalsEnabled"].clone()),
        (json!(false), json!(true))
    );
}
