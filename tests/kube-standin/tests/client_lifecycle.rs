//! kube's client against the stand-in: patches, server-side apply and managed fields, the
//! status subresource, finalizers and deletion, garbage collection and Events.

mod common;

use common::{GROUP, IsolationProfile, api_code, eventually, install_crds, profile, start};
use k8s_openapi::api::core::v1::{Event as CoreEvent, Namespace, Secret};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use serde_json::json;
use std::collections::BTreeMap;

fn json_patch(v: serde_json::Value) -> Patch<()> {
    Patch::Json(serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}")))
}

#[tokio::test]
async fn json_patch_tests_as_kube_finalizer_sends_them() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &profile("p", "P", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let add_first = json_patch(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["a/one"]}
    ]));
    let p = api.patch("p", &PatchParams::default(), &add_first).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.metadata.finalizers, Some(vec!["a/one".to_string()]));
    // the same test now fails: 422
    let st = api_code(api.patch("p", &PatchParams::default(), &add_first).await);
    assert_eq!(st.code, 422);
    assert!(st.message.contains("testing value /metadata/finalizers failed"), "{}", st.message);

    let add_more = json_patch(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": ["a/one"]},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "b/two"}
    ]));
    let p = api.patch("p", &PatchParams::default(), &add_more).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.metadata.finalizers.clone().unwrap_or_default().len(), 2);

    // merge patch of finalizers replaces the list (RFC 7386)
    let p = api
        .patch("p", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": ["c/three"]}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.metadata.finalizers, Some(vec!["c/three".to_string()]));
    let st = api_code(
        api.patch("p", &PatchParams::default(), &json_patch(json!([{"op": "remove", "path": "/spec/nothing"}]))).await,
    );
    assert_eq!(st.code, 422);
}

#[tokio::test]
async fn server_side_apply_tracks_ownership() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    let cfg = |desc: Option<&str>| {
        let mut spec = json!({"name": "Applied", "regions": ["us-east", "eu-west"]});
        if let (Some(d), Some(m)) = (desc, spec.as_object_mut()) {
            m.insert("description".into(), json!(d));
        }
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile", "metadata": {"name": "ssa"}, "spec": spec})
    };
    // apply creates
    let created = api
        .patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(cfg(Some("a"))))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.metadata.generation, Some(1));
    let mf = created.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(mf.len(), 1);
    assert_eq!((mf[0].manager.as_deref(), mf[0].operation.as_deref()), (Some("alpha"), Some("Apply")));
    let fields = serde_json::to_value(&mf[0].fields_v1).unwrap_or_default();
    assert!(fields["f:spec"]["f:description"].is_object(), "{fields}");

    // fieldManager is required for apply
    let r = common::raw(
        &server,
        "PATCH",
        "/apis/zpa.operator.dev/v1alpha1/namespaces/default/isolationprofiles/ssa",
        &[("Content-Type", "application/apply-patch+yaml")],
        &cfg(None).to_string(),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("fieldManager: Required value"), "{}", r.body);

    // unchanged re-apply is a no-op
    let again = api
        .patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(cfg(Some("a"))))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.metadata.resource_version, created.metadata.resource_version);

    // another applier conflicts on a differing value, co-owns an equal one
    let st = api_code(api.patch("ssa", &PatchParams::apply("beta"), &Patch::Apply(cfg(Some("b")))).await);
    assert_eq!((st.code, st.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        st.message,
        "Apply failed with 1 conflict: conflict with \"alpha\" using zpa.operator.dev/v1alpha1: .spec.description"
    );
    api.patch("ssa", &PatchParams::apply("beta"), &Patch::Apply(cfg(Some("a"))))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // alpha drops description: beta still owns it, so it stays
    let p = api
        .patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(cfg(None)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.spec.description.as_deref(), Some("a"));
    // beta forces a new value, then drops it: removed
    let p = api
        .patch("ssa", &PatchParams::apply("beta").force(), &Patch::Apply(cfg(Some("z"))))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.spec.description.as_deref(), Some("z"));
    let p =
        api.patch("ssa", &PatchParams::apply("beta"), &Patch::Apply(cfg(None))).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.spec.description, None);

    // an Update by another manager takes ownership; applying over it conflicts unless forced
    api.patch(
        "ssa",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"name": "Applied", "description": "manual"}})),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let st = api_code(api.patch("ssa", &PatchParams::apply("alpha"), &Patch::Apply(cfg(Some("mine")))).await);
    assert_eq!(st.code, 409);

    // status via SSA with force, as the operator does: only status changes
    let status = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile", "metadata": {"name": "ssa"},
        "status": {"id": "x1", "conditions": [{"type": "Ready", "status": "True"}]}, "spec": {"name": "ignored"}});
    let before = api.get("ssa").await.unwrap_or_else(|e| panic!("{e}"));
    let after = api
        .patch_status("ssa", &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&status))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.spec, before.spec);
    assert_eq!(after.metadata.generation, before.metadata.generation);
    assert_eq!(after.status.as_ref().and_then(|s| s.id.as_deref()), Some("x1"));
    let entry = after
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.manager.as_deref() == Some("zpa-operator"))
        .unwrap_or_else(|| panic!("no operator entry"));
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    // repeating the same status apply does not bump the revision (no reconcile loops)
    let same = api
        .patch_status("ssa", &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&status))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(same.metadata.resource_version, after.metadata.resource_version);
    // the main resource never changes status
    let p = api
        .patch("ssa", &PatchParams::default(), &Patch::Merge(json!({"status": {"id": "nope"}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.status.and_then(|s| s.id).as_deref(), Some("x1"));
    // status on a missing object is a 404
    let orphan_status =
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile", "status": {"id": "x"}});
    let st = api_code(
        api.patch_status("nothere", &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&orphan_status)).await,
    );
    assert_eq!(st.code, 404);
}

#[tokio::test]
async fn finalizers_gate_deletion() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    let mut p = profile("fin", "Fin", &["us-east", "eu-west"]);
    p.metadata.finalizers = Some(vec!["zpa.operator.dev/cleanup".into()]);
    let created = api.create(&PostParams::default(), &p).await.unwrap_or_else(|e| panic!("{e}"));

    let res = api.delete("fin", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let pending = res.left().unwrap_or_else(|| panic!("expected the object back while finalizers remain"));
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert_eq!(pending.metadata.deletion_grace_period_seconds, Some(0));
    assert!(common::rv_num(&pending) > common::rv_num(&created));

    // no new finalizers on an object being deleted
    let st = api_code(
        api.patch(
            "fin",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["zpa.operator.dev/cleanup", "x/new"]}})),
        )
        .await,
    );
    assert_eq!(st.code, 422);
    assert!(st.message.contains("metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"x/new\"}"), "{}", st.message);

    // removing the last finalizer removes the object
    api.patch("fin", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_code(api.get("fin").await).code, 404);

    // delete preconditions
    api.create(&PostParams::default(), &profile("pre", "Pre", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions { uid: Some("wrong".into()), resource_version: None }),
        ..Default::default()
    };
    let st = api_code(api.delete("pre", &dp).await);
    assert_eq!(st.code, 409);
    assert!(st.message.contains("Precondition failed: UID in precondition: wrong"), "{}", st.message);
    let gone = api.delete("pre", &DeleteParams::background()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(gone.right().is_some_and(|s| s.status == Some(kube::core::response::StatusSummary::Success)));
}

fn owned_secret(name: &str, owner: &IsolationProfile) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: Some(vec![OwnerReference {
                api_version: format!("{GROUP}/v1alpha1"),
                kind: "IsolationProfile".into(),
                name: owner.metadata.name.clone().unwrap_or_default(),
                uid: owner.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
        ..Default::default()
    }
}

#[tokio::test]
async fn garbage_collection_and_propagation() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");

    // background: owner goes, owned Secret follows
    let owner = api
        .create(&PostParams::default(), &profile("owner", "O", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let applied = serde_json::to_value(owned_secret("owned", &owner)).unwrap_or_default();
    let mut applied = applied;
    if let Some(m) = applied.as_object_mut() {
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("kind".into(), json!("Secret"));
    }
    secrets
        .patch("owned", &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&applied))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    api.delete("owner", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    eventually(10, "owned secret garbage collected", || {
        let secrets = secrets.clone();
        async move { matches!(secrets.get("owned").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(()) }
    })
    .await;

    // orphan: the dependent stays, without the owner reference
    let owner = api
        .create(&PostParams::default(), &profile("owner2", "O", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    secrets.create(&PostParams::default(), &owned_secret("orphaned", &owner)).await.unwrap_or_else(|e| panic!("{e}"));
    api.delete("owner2", &DeleteParams::orphan()).await.unwrap_or_else(|e| panic!("{e}"));
    eventually(10, "owner removed", || {
        let api = api.clone();
        async move { matches!(api.get("owner2").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(()) }
    })
    .await;
    let s = secrets.get("orphaned").await.unwrap_or_else(|e| panic!("orphan deleted: {e}"));
    assert!(s.metadata.owner_references.unwrap_or_default().is_empty());

    // foreground: the owner waits for its dependents
    let owner = api
        .create(&PostParams::default(), &profile("owner3", "O", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut dep = owned_secret("fg", &owner);
    dep.metadata.finalizers = Some(vec!["hold/it".into()]);
    secrets.create(&PostParams::default(), &dep).await.unwrap_or_else(|e| panic!("{e}"));
    api.delete("owner3", &DeleteParams::foreground()).await.unwrap_or_else(|e| panic!("{e}"));
    let held = eventually(10, "dependent being deleted", || {
        let secrets = secrets.clone();
        async move { secrets.get("fg").await.ok().filter(|s| s.metadata.deletion_timestamp.is_some()) }
    })
    .await;
    assert!(held.metadata.deletion_timestamp.is_some());
    let o = api.get("owner3").await.unwrap_or_else(|e| panic!("owner must wait: {e}"));
    assert!(o.metadata.finalizers.unwrap_or_default().contains(&"foregroundDeletion".to_string()));
    secrets
        .patch("fg", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually(10, "foreground owner removed", || {
        let api = api.clone();
        async move { matches!(api.get("owner3").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(()) }
    })
    .await;

    // namespace deletion removes its content
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta { name: Some("tmp".into()), ..Default::default() },
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tmp_secrets: Api<Secret> = Api::namespaced(client.clone(), "tmp");
    tmp_secrets
        .create(
            &PostParams::default(),
            &Secret { metadata: ObjectMeta { name: Some("x".into()), ..Default::default() }, ..Default::default() },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    namespaces.delete("tmp", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    eventually(10, "namespace removed", || {
        let namespaces = namespaces.clone();
        async move { matches!(namespaces.get("tmp").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(()) }
    })
    .await;
    assert_eq!(api_code(tmp_secrets.get("x").await).code, 404);
}

#[tokio::test]
async fn recorder_events_are_created_then_updated() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    let p = api
        .create(&PostParams::default(), &profile("ev", "Ev", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let recorder =
        Recorder::new(client.clone(), Reporter { controller: "zpa-operator".into(), instance: Some("pod-1".into()) });
    let reference = p.object_ref(&());
    let ev = RecorderEvent {
        type_: EventType::Normal,
        reason: "Synced".into(),
        note: Some("profile synced".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    for _ in 0..3 {
        recorder.publish(&ev, &reference).await.unwrap_or_else(|e| panic!("publish: {e}"));
    }
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.items.len(), 1, "one event, updated in place");
    let e = &list.items[0];
    assert_eq!(e.series.as_ref().map(|s| s.count), Some(3));
    assert_eq!(e.reporting_controller.as_deref(), Some("zpa-operator"));
    assert_eq!(e.regarding.as_ref().and_then(|r| r.name.as_deref()), Some("ev"));

    // the same Event through core/v1
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let list =
        core.list(&ListParams::default().fields("involvedObject.name=ev")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].message.as_deref(), Some("profile synced"));
    assert_eq!(list.items[0].reporting_component.as_deref(), Some("zpa-operator"));

    // a core/v1 event can be created and patched like client-go's recorder does
    let created = core
        .create(
            &PostParams::default(),
            &CoreEvent {
                metadata: ObjectMeta { name: Some("ev.core".into()), ..Default::default() },
                involved_object: reference.clone(),
                reason: Some("Created".into()),
                message: Some("m".into()),
                type_: Some("Normal".into()),
                count: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.count, Some(1));
    let patched = core
        .patch("ev.core", &PatchParams::default(), &Patch::Strategic(json!({"count": 2})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(patched.count, Some(2));
}
