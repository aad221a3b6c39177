//! kube's `Controller` and `finalizer` helper against the stand-in: a full add-finalizer /
//! reconcile (status via server-side apply, owned Secret, Event) / cleanup / remove-finalizer
//! cycle, ending with the owned Secret garbage-collected.

mod common;

use common::{GROUP, IsolationProfile, eventually, install_crds, profile, start};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const FINALIZER: &str = "zpa.operator.dev/cleanup";

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    cleanups: AtomicUsize,
}

#[derive(Debug)]
struct Failed(String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Failed {}

async fn apply(p: Arc<IsolationProfile>, ctx: &Ctx) -> Result<Action, Failed> {
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let name = p.metadata.name.clone().unwrap_or_default();
    let owner = p.controller_owner_ref(&()).ok_or_else(|| Failed("no owner ref".into()))?;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{name}-token"), "ownerReferences": [owner]},
        "stringData": {"token": format!("token-for-{name}")}
    });
    secrets
        .patch(&format!("{name}-token"), &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&secret))
        .await
        .map_err(|e| Failed(e.to_string()))?;
    let api: Api<IsolationProfile> = Api::namespaced(ctx.client.clone(), &ns);
    let status = json!({
        "apiVersion": format!("{GROUP}/v1alpha1"), "kind": "IsolationProfile",
        "status": {"id": format!("cbi-{name}"), "observedGeneration": p.metadata.generation,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Synced"}]}
    });
    api.patch_status(&name, &PatchParams::apply("zpa-operator").force(), &Patch::Apply(&status))
        .await
        .map_err(|e| Failed(e.to_string()))?;
    ctx.recorder
        .publish(
            &RecorderEvent {
                type_: EventType::Normal,
                reason: "Synced".into(),
                note: Some("profile synced".into()),
                action: "Reconcile".into(),
                secondary: None,
            },
            &p.object_ref(&()),
        )
        .await
        .map_err(|e| Failed(e.to_string()))?;
    Ok(Action::await_change())
}

async fn reconcile(p: Arc<IsolationProfile>, ctx: Arc<Ctx>) -> Result<Action, kube::runtime::finalizer::Error<Failed>> {
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    let api: Api<IsolationProfile> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, p, |event| async {
        match event {
            Event::Apply(p) => apply(p, &ctx).await,
            Event::Cleanup(_) => {
                ctx.cleanups.fetch_add(1, Ordering::SeqCst);
                Ok(Action::await_change())
            }
        }
    })
    .await
}

fn error_policy(_: Arc<IsolationProfile>, _: &kube::runtime::finalizer::Error<Failed>, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

#[tokio::test]
async fn controller_runs_a_full_finalizer_cycle() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), Reporter { controller: "zpa-operator".into(), instance: None }),
        cleanups: AtomicUsize::new(0),
    });
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {}),
    );

    api.create(&PostParams::default(), &profile("cycle", "Cycle", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ready = eventually(20, "finalizer added and status written", || {
        let api = api.clone();
        async move {
            api.get("cycle").await.ok().filter(|p| {
                p.metadata.finalizers.as_deref() == Some(&[FINALIZER.to_string()][..])
                    && p.status.as_ref().and_then(|s| s.id.as_deref()) == Some("cbi-cycle")
            })
        }
    })
    .await;
    assert_eq!(ready.status.and_then(|s| s.observed_generation), Some(1));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let token = secrets.get("cycle-token").await.unwrap_or_else(|e| panic!("owned secret: {e}"));
    assert_eq!(token.data.unwrap_or_default().get("token").map(|b| b.0.clone()), Some(b"token-for-cycle".to_vec()));

    // a spec change is reconciled again (new observedGeneration)
    api.patch("cycle", &PatchParams::default(), &Patch::Merge(json!({"spec": {"description": "v2"}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually(20, "observedGeneration 2", || {
        let api = api.clone();
        async move {
            api.get("cycle").await.ok().filter(|p| p.status.as_ref().and_then(|s| s.observed_generation) == Some(2))
        }
    })
    .await;

    api.delete("cycle", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    eventually(20, "object removed after cleanup", || {
        let api = api.clone();
        async move { matches!(api.get("cycle").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(()) }
    })
    .await;
    assert_eq!(ctx.cleanups.load(Ordering::SeqCst), 1, "cleanup ran exactly once");
    eventually(20, "owned secret garbage collected", || {
        let secrets = secrets.clone();
        async move { matches!(secrets.get("cycle-token").await, Err(kube::Error::Api(s)) if s.code == 404).then_some(()) }
    })
    .await;
    controller.abort();
}
