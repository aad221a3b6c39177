//! How the operator treats ZPA's answers (README, "How the operator treats
//! ZPA's answers"): scopes and keys bound to a Microtenant, "not mapped"
//! answers, objects that vanish, ZPA's own defaults, refusals it does not
//! know. The real controllers, in-process, against the real kube-apiserver
//! and the ZPA simulator.

mod support;

use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::cluster::{Cluster, condition, remote_microtenants_named, remote_profiles_named};
use support::manifests::routes::{POST_MICROTENANTS, POST_PROFILES, PUT_PROFILE};
use support::manifests::{self, with_spec};
use support::metric_sum;
use zpa_operator::crd::{IsolationProfile, Microtenant};
use zpa_operator::simulator::{ErrorResponseFault, FaultConfig, NotMappedAnswer, NotMappedFault};
use zpa_operator::wire::cbi::CbiProfile;
use zpa_operator::wire::mgmt::MgmtMicrotenant;
use zpa_operator::zpa::Scope;

const DELETE_PROFILE: &str = "DELETE /cbiconfig/cbi/api/customers/{customerId}/profiles/{profileId}";
const DELETE_MICROTENANT: &str = "DELETE /mgmtconfig/v1/admin/customers/{customerId}/microtenants/{microtenantId}";

fn profile(name: &str, extra: Value) -> Value {
    with_spec(manifests::profile(name), extra)
}

fn count(cluster: &Cluster, route: &str) -> u64 {
    cluster.sim.stats().by_route.get(route).copied().unwrap_or(0)
}

fn synced_reason(object: &Value, reason: &str) -> bool {
    condition(object, "Synced").is_some_and(|c| c.status == "False" && c.reason == reason)
}

/// A Microtenant made in ZPA by hand; its id.
async fn hand_made_microtenant(cluster: &Cluster, name: &str) -> String {
    let body: MgmtMicrotenant = serde_json::from_value(json!({"name": name, "criteriaAttribute": "AuthDomain",
        "criteriaAttributeValues": [format!("{name}.example.com")]}))
    .unwrap();
    cluster.zpa.create_microtenant(&body).await.unwrap().id.unwrap()
}

/// A profile made in ZPA by hand, in `scope`; its id.
async fn hand_made_profile(cluster: &Cluster, name: &str, scope: &Scope) -> String {
    let regions: Vec<String> = cluster.zpa.list_regions().await.unwrap().into_iter().take(2).map(|r| r.id).collect();
    let body: CbiProfile = serde_json::from_value(json!({"name": name, "regionIds": regions})).unwrap();
    cluster.zpa.create_profile(&body, scope).await.unwrap()
}

/// Sets the simulator's faults (`{}` clears them).
fn faults(cluster: &Cluster, faults: FaultConfig) {
    cluster.sim.set_faults(faults).unwrap();
}

/// The seed: "If you are within a Microtenant, you must pass the
/// microtenantId"; the simulator answers 403 for any other scope. A key bound
/// to a Microtenant (`/me` names it) works in that Microtenant: a profile
/// that names no scope lives there; one that asks for another scope, and a
/// Microtenant resource, get `ScopeNotPermitted` and cause no call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_bound_to_a_microtenant_works_there_and_nothing_is_sent_elsewhere() {
    let cluster = Cluster::start().await;
    let bound = hand_made_microtenant(&cluster, "bound-team").await;
    // An API key made inside that Microtenant, and a provider config that uses it.
    let url = format!("{}/__sim/credentials/bound-key", cluster.sim.base_url());
    let key = json!({"customerId": cluster.sim.customer_id(), "clientSecret": "bound-secret", "microtenantId": bound});
    let answer = reqwest::Client::new().put(url).json(&key).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(cluster.kube.clone(), &cluster.system_namespace);
    let secret = json!({"metadata": {"name": "bound-credentials"},
                        "stringData": {"clientId": "bound-key", "clientSecret": "bound-secret"}});
    secrets.create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.unwrap();
    let config = support::controlplane::unique_name("bound");
    let spec = json!({"baseUrl": cluster.sim.base_url(), "customerId": cluster.sim.customer_id(), "auth": "legacy",
                      "credentialsSecretRef": {"namespace": cluster.system_namespace, "name": "bound-credentials"}});
    cluster.apply_provider_config(&config, spec).await;
    let with_key = |extra: Value| {
        let mut extra = extra;
        extra["providerConfigRef"] = json!({"name": config});
        extra
    };

    // No scope named: it lives in the key's Microtenant, with its ZPA-side id.
    cluster.apply(profile("bound-web", with_key(json!({})))).await;
    let object = cluster
        .wait_for::<IsolationProfile>("bound-web", "Ready with a ZPA-side id", |o| {
            condition(o, "Ready").is_some_and(|c| c.status == "True") && o["status"]["zpaProfileId"].is_string()
        })
        .await;
    assert_eq!(object["status"]["microtenantId"], bound.as_str(), "recorded in the key's scope");
    let state = cluster.remote_state().await;
    let in_scope = state["profiles"][&bound].as_array().cloned().unwrap_or_default();
    assert_eq!(in_scope.len(), 1, "created in the Microtenant: {state}");
    assert_eq!(in_scope[0]["id"], object["status"]["id"]);
    let posts = count(&cluster, POST_PROFILES);

    // Another scope (the Default Microtenant by its id), and a Microtenant: refused, nothing sent.
    cluster.apply(profile("bound-elsewhere", with_key(json!({"microtenantId": "0"})))).await;
    let elsewhere = cluster
        .wait_for::<IsolationProfile>("bound-elsewhere", "ScopeNotPermitted", |o| synced_reason(o, "ScopeNotPermitted"))
        .await;
    let message = condition(&elsewhere, "Synced").unwrap().message;
    assert!(message.contains(&format!("Microtenant {bound}")) && message.contains("scope 0"), "{message}");
    cluster.wait_event("bound-elsewhere", "ScopeNotPermitted", &bound).await;
    let microtenant = with_spec(manifests::microtenant("bound-admin"), with_key(json!({})));
    cluster.apply(microtenant).await;
    let refused = cluster
        .wait_for::<Microtenant>("bound-admin", "ScopeNotPermitted", |o| synced_reason(o, "ScopeNotPermitted"))
        .await;
    assert!(condition(&refused, "Synced").unwrap().message.contains("only Default Microtenant admins"));
    assert_eq!(count(&cluster, POST_PROFILES), posts, "no create in another scope");
    assert_eq!(count(&cluster, POST_MICROTENANTS), 1, "only the hand-made Microtenant");
    let forbidden: u64 = cluster.sim.stats().by_status.get("403").copied().unwrap_or(0);
    assert_eq!(forbidden, 0, "no call ZPA would refuse was made");

    // Deleting works in the key's scope too.
    cluster.api::<IsolationProfile>(None).delete("bound-web", &DeleteParams::default()).await.unwrap();
    cluster.wait_gone::<IsolationProfile>("bound-web").await;
    assert!(remote_profiles_named(&cluster.remote_state().await, "bound-web").is_empty());
}

/// Name lookups are scoped: a profile of the same name in another scope is
/// never adopted (`adoption: ByName` creates its own), either way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_lookups_never_see_another_scopes_objects() {
    let cluster = Cluster::start().await;
    let team = hand_made_microtenant(&cluster, "lookup-team").await;
    let in_team = hand_made_profile(&cluster, "only-in-team", &Scope::Microtenant(team.clone())).await;
    let in_default = hand_made_profile(&cluster, "only-in-default", &Scope::Default).await;
    let posts = count(&cluster, POST_PROFILES);

    cluster.apply(profile("only-in-team", json!({"adoption": "ByName"}))).await;
    cluster.apply(profile("only-in-default", json!({"adoption": "ByName", "microtenantId": team}))).await;
    let default_scoped = cluster.wait_ready::<IsolationProfile>("only-in-team").await;
    let team_scoped = cluster.wait_ready::<IsolationProfile>("only-in-default").await;
    assert_ne!(default_scoped["status"]["id"], in_team.as_str(), "the other scope's profile was adopted");
    assert_ne!(team_scoped["status"]["id"], in_default.as_str(), "the other scope's profile was adopted");
    assert_eq!(count(&cluster, POST_PROFILES), posts + 2, "both created in their own scope");
    let state = cluster.remote_state().await;
    let scope_of = |name: &str, scope: &str| {
        state["profiles"][scope].as_array().into_iter().flatten().filter(|p| p["name"] == name).count()
    };
    assert_eq!((scope_of("only-in-team", "0"), scope_of("only-in-team", &team)), (1, 1));
    assert_eq!((scope_of("only-in-default", "0"), scope_of("only-in-default", &team)), (1, 1));
    assert_eq!(state["profiles"][&team].as_array().map(Vec::len), Some(2), "{state}");
}

/// "Not mapped" answers on every CBI call: an edit, a resync and a delete
/// meet them. Nothing is read as gone, nothing is created a second time, the
/// finalizer stays; once CBI answers again, the edit and the delete go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_mapped_answers_create_nothing_and_keep_the_finalizer_until_cbi_answers() {
    let cluster = Cluster::start().await; // 3 s resync: resyncs meet the answers too
    cluster.apply(profile("unmapped", json!({}))).await;
    let object = cluster.wait_ready::<IsolationProfile>("unmapped").await;
    let id = object["status"]["id"].as_str().unwrap().to_owned();
    let (posts, puts) = (count(&cluster, POST_PROFILES), count(&cluster, PUT_PROFILE));
    for answer in [NotMappedAnswer::ZpnCbiMapping, NotMappedAnswer::NoHandler] {
        faults(
            &cluster,
            FaultConfig { not_mapped: Some(NotMappedFault { answer, ..Default::default() }), ..Default::default() },
        );
        let description = format!("while {answer:?}");
        cluster.apply(profile("unmapped", json!({"description": description}))).await;
        let seen = cluster
            .wait_for::<IsolationProfile>("unmapped", "CbiNotAvailable for the edit", |o| {
                synced_reason(o, "CbiNotAvailable") && o["status"]["observedGeneration"] == o["metadata"]["generation"]
            })
            .await;
        assert_eq!(seen["status"]["id"], id.as_str(), "still the same object");
        faults(&cluster, FaultConfig::default());
        cluster
            .wait_for::<IsolationProfile>("unmapped", "the edit applied", |o| {
                o["status"]["atProvider"]["description"] == description.as_str()
            })
            .await;
    }
    assert_eq!(count(&cluster, POST_PROFILES), posts, "never created a second time");
    assert_eq!(count(&cluster, PUT_PROFILE), puts + 2, "each edit once, after CBI answered again");

    faults(&cluster, FaultConfig { not_mapped: Some(NotMappedFault::default()), ..Default::default() });
    cluster.api::<IsolationProfile>(None).delete("unmapped", &DeleteParams::default()).await.unwrap();
    let deleting = cluster
        .wait_for::<IsolationProfile>("unmapped", "the delete answered 'not mapped'", |o| {
            synced_reason(o, "CbiNotAvailable") && condition(o, "Ready").is_some_and(|c| c.reason == "Deleting")
        })
        .await;
    assert!(deleting["metadata"]["finalizers"].to_string().contains("zpa.operator.dev/finalizer"), "{deleting}");
    cluster.wait_event("unmapped", "CbiNotAvailable", "not available").await;
    let state = cluster.remote_state().await;
    assert_eq!(remote_profiles_named(&state, "unmapped").len(), 1, "the object is still in ZPA");
    faults(&cluster, FaultConfig::default());
    cluster.wait_gone::<IsolationProfile>("unmapped").await;
    assert!(remote_profiles_named(&cluster.remote_state().await, "unmapped").is_empty(), "deleted once CBI answered");
    assert_eq!(count(&cluster, POST_PROFILES), posts);
}

/// An object deleted behind the operator's back is looked up by name before
/// anything is created again: the one object of its name is adopted (no
/// second of that name appears); with two, nothing is created and the
/// resource says which ids to choose from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_object_is_looked_up_by_name_before_anything_is_created() {
    let cluster = Cluster::start().await; // 3 s resync
    for name in ["phoenix", "hydra"] {
        cluster.apply(profile(name, json!({}))).await;
    }
    let phoenix = cluster.wait_ready::<IsolationProfile>("phoenix").await;
    let hydra = cluster.wait_ready::<IsolationProfile>("hydra").await;
    let posts = count(&cluster, POST_PROFILES);

    // phoenix: deleted, and one profile of its name made again (by hand, or a create whose answer was lost).
    let gone = phoenix["status"]["id"].as_str().unwrap().to_owned();
    cluster.zpa.delete_profile(&gone, &Scope::Default).await.unwrap();
    let again = hand_made_profile(&cluster, "phoenix", &Scope::Default).await;
    // hydra: deleted, and two of its name made.
    cluster.zpa.delete_profile(hydra["status"]["id"].as_str().unwrap(), &Scope::Default).await.unwrap();
    let heads = [
        hand_made_profile(&cluster, "hydra", &Scope::Default).await,
        hand_made_profile(&cluster, "hydra", &Scope::Default).await,
    ];

    let adopted = cluster
        .wait_for::<IsolationProfile>("phoenix", "the object of its name adopted", |o| {
            o["status"]["id"] == again.as_str() && condition(o, "Ready").is_some_and(|c| c.status == "True")
        })
        .await;
    let annotations = &adopted["metadata"]["annotations"];
    assert_eq!(annotations.get("zpa.operator.dev/external-id"), None, "no id but the status's: {annotations}");
    cluster.wait_event("phoenix", "RemoteObjectMissing", &gone).await;
    cluster.wait_event("phoenix", "Adopted", &again).await;
    let refused =
        cluster.wait_for::<IsolationProfile>("hydra", "AmbiguousName", |o| synced_reason(o, "AmbiguousName")).await;
    let message = condition(&refused, "Synced").unwrap().message;
    assert!(heads.iter().all(|id| message.contains(id.as_str())), "{message}");

    assert_eq!(count(&cluster, POST_PROFILES), posts + 3, "the three hand-made ones, nothing by the operator");
    let state = cluster.remote_state().await;
    assert_eq!(remote_profiles_named(&state, "phoenix").len(), 1);
    assert_eq!(remote_profiles_named(&state, "hydra").len(), 2);
}

/// ZPA's own defaults are never deleted: a resource that adopted the Default
/// Microtenant or its scope's default profile, with `deletionPolicy: Delete`,
/// goes away leaving them in place, with a `DefaultKept` Warning event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_resource_never_deletes_zpas_defaults() {
    let cluster = Cluster::start().await;
    let state = cluster.remote_state().await;
    let default_profile = state["profiles"]["0"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["isDefault"] == true)
        .cloned()
        .expect("the simulator seeds the Default scope's default profile");
    let default_name = default_profile["name"].as_str().unwrap().to_owned();
    cluster
        .apply(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
            "metadata": {"name": "the-default"},
            "spec": {"name": "Default", "externalId": "0", "deletionPolicy": "Delete"}
        }))
        .await;
    cluster
        .apply(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
            "metadata": {"name": "default-profile"},
            "spec": {"name": default_name, "adoption": "ByName", "regions": ["Frankfurt", "London"],
                     "deletionPolicy": "Delete"}
        }))
        .await;
    cluster.wait_ready::<Microtenant>("the-default").await;
    let adopted = cluster.wait_ready::<IsolationProfile>("default-profile").await;
    assert_eq!(adopted["status"]["id"], default_profile["id"]);

    for name in ["the-default", "default-profile"] {
        let params = DeleteParams::default();
        if name == "the-default" {
            cluster.api::<Microtenant>(None).delete(name, &params).await.unwrap();
        } else {
            cluster.api::<IsolationProfile>(None).delete(name, &params).await.unwrap();
        }
    }
    cluster.wait_gone::<Microtenant>("the-default").await;
    cluster.wait_gone::<IsolationProfile>("default-profile").await;
    cluster.wait_event("the-default", "DefaultKept", "the Default Microtenant").await;
    cluster.wait_event("default-profile", "DefaultKept", "default isolation profile").await;
    assert_eq!(count(&cluster, DELETE_MICROTENANT) + count(&cluster, DELETE_PROFILE), 0, "no delete was sent");
    let state = cluster.remote_state().await;
    assert_eq!(remote_microtenants_named(&state, "Default").len(), 1);
    assert_eq!(remote_profiles_named(&state, &default_name).len(), 1);
}

/// A delete refused with an error id nobody here knows: the resource and its
/// finalizer stay, `Synced` says `DeleteRefused` with ZPA's id and words and
/// what to do, the next try waits at least a minute (no hot loop), and
/// `deletionPolicy: Orphan` lets the resource go, keeping the ZPA object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_refusal_to_delete_keeps_the_resource_and_says_why() {
    let cluster = Cluster::start().await;
    cluster.apply(profile("stubborn", json!({}))).await;
    let object = cluster.wait_ready::<IsolationProfile>("stubborn").await;
    let id = object["status"]["id"].as_str().unwrap().to_owned();
    let refusal = ErrorResponseFault {
        id: "cbi.profile.locked.by.tenant".into(),
        reason: "The profile is locked by the tenant administrator.".into(),
        method: Some("DELETE".into()),
        path: Some(id.clone()),
        ..Default::default()
    };
    faults(&cluster, FaultConfig { error_response: Some(refusal), ..Default::default() });
    cluster.api::<IsolationProfile>(None).delete("stubborn", &DeleteParams::default()).await.unwrap();
    let refused =
        cluster.wait_for::<IsolationProfile>("stubborn", "DeleteRefused", |o| synced_reason(o, "DeleteRefused")).await;
    let message = condition(&refused, "Synced").unwrap().message;
    for fragment in ["cbi.profile.locked.by.tenant", "locked by the tenant administrator", "deletionPolicy: Orphan"] {
        assert!(message.contains(fragment), "{message}");
    }
    assert!(refused["metadata"]["finalizers"].to_string().contains("zpa.operator.dev/finalizer"));
    cluster.wait_event("stubborn", "DeleteRefused", "cbi.profile.locked.by.tenant").await;
    // The next try is scheduled a minute or more away.
    let text = cluster.metrics.encode();
    let labels = "reason=\"DeleteRefused\"";
    let delays = metric_sum(&text, "zpa_operator_reconcile_backoff_delay_seconds_sum", labels);
    let tries = metric_sum(&text, "zpa_operator_reconcile_backoff_delay_seconds_count", labels);
    assert!(tries >= 1.0 && delays / tries >= 60.0, "{delays} s over {tries} backoffs");
    assert_eq!(remote_profiles_named(&cluster.remote_state().await, "stubborn").len(), 1);

    // The way out the message names.
    let orphan = json!({"spec": {"deletionPolicy": "Orphan"}});
    let api = cluster.api::<IsolationProfile>(None);
    api.patch("stubborn", &PatchParams::default(), &Patch::Merge(&orphan)).await.unwrap();
    cluster.wait_gone::<IsolationProfile>("stubborn").await;
    cluster.wait_event("stubborn", "Orphaned", &id).await;
    assert_eq!(remote_profiles_named(&cluster.remote_state().await, "stubborn").len(), 1, "kept in ZPA");
}
