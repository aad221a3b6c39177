//! Watches against the stand-in: replay from a revision, live events, selectors, bookmarks,
//! 410 Gone and kube's watcher relisting across it, streaming lists, timeouts.

mod common;

use common::{eventually, rv_num, start, start_with};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::ObjectMeta;
use kube::runtime::watcher;
use kube_standin::StandInConfig;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn secret(name: &str, label: Option<&str>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: label.map(|l| BTreeMap::from([("app".to_string(), l.to_string())])),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn name_of(e: &WatchEvent<Secret>) -> String {
    match e {
        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
            o.metadata.name.clone().unwrap_or_default()
        }
        WatchEvent::Bookmark(_) => "<bookmark>".into(),
        WatchEvent::Error(e) => format!("<error {}>", e.code),
    }
}

fn kind_of(e: &WatchEvent<Secret>) -> &'static str {
    match e {
        WatchEvent::Added(_) => "ADDED",
        WatchEvent::Modified(_) => "MODIFIED",
        WatchEvent::Deleted(_) => "DELETED",
        WatchEvent::Bookmark(_) => "BOOKMARK",
        WatchEvent::Error(_) => "ERROR",
    }
}

async fn next_non_bookmark<S>(stream: &mut S) -> WatchEvent<Secret>
where
    S: futures::Stream<Item = kube::Result<WatchEvent<Secret>>> + Unpin,
{
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap_or_else(|_| panic!("no watch event within 10s"))
            .unwrap_or_else(|| panic!("watch stream ended"))
            .unwrap_or_else(|e| panic!("watch error: {e}"));
        if !matches!(ev, WatchEvent::Bookmark(_)) {
            return ev;
        }
    }
}

#[tokio::test]
async fn watch_replays_then_streams_with_selectors() {
    let server = start().await;
    let api: Api<Secret> = Api::namespaced(server.kube_client(), "default");
    let a = api.create(&PostParams::default(), &secret("a", Some("web"))).await.unwrap_or_else(|e| panic!("{e}"));
    let start_rv = rv_num(&a).to_string();
    api.create(&PostParams::default(), &secret("b", Some("db"))).await.unwrap_or_else(|e| panic!("{e}"));
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"x": "eA=="}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // from a revision: replay of everything after it, in order
    let mut all = api.watch(&WatchParams::default(), &start_rv).await.unwrap_or_else(|e| panic!("{e}")).boxed();
    let e1 = next_non_bookmark(&mut all).await;
    let e2 = next_non_bookmark(&mut all).await;
    assert_eq!((kind_of(&e1), name_of(&e1).as_str()), ("ADDED", "b"));
    assert_eq!((kind_of(&e2), name_of(&e2).as_str()), ("MODIFIED", "a"));

    // from "0": synthetic ADDED for the current state, filtered by labels
    let mut web =
        api.watch(&WatchParams::default().labels("app=web"), "0").await.unwrap_or_else(|e| panic!("{e}")).boxed();
    let first = next_non_bookmark(&mut web).await;
    assert_eq!((kind_of(&first), name_of(&first).as_str()), ("ADDED", "a"));

    // live: a relabel moves objects in and out of the selection
    api.patch("b", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ev = next_non_bookmark(&mut web).await;
    assert_eq!((kind_of(&ev), name_of(&ev).as_str()), ("ADDED", "b"));
    api.patch("a", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": "old"}}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ev = next_non_bookmark(&mut web).await;
    assert_eq!((kind_of(&ev), name_of(&ev).as_str()), ("DELETED", "a"));
    api.delete("b", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let ev = next_non_bookmark(&mut web).await;
    assert_eq!((kind_of(&ev), name_of(&ev).as_str()), ("DELETED", "b"));

    // the unfiltered stream saw everything, including deletions with their final revision
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let ev = next_non_bookmark(&mut all).await;
        kinds.push(format!("{} {}", kind_of(&ev), name_of(&ev)));
    }
    assert_eq!(kinds, vec!["MODIFIED b", "MODIFIED a", "DELETED b"]);

    // field selector on metadata.name and timeoutSeconds ending the stream
    let mut one = api
        .watch(&WatchParams::default().fields("metadata.name=a").timeout(1), "0")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .boxed();
    let ev = next_non_bookmark(&mut one).await;
    assert_eq!(name_of(&ev), "a");
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(item) = one.next().await {
            let _ = item;
        }
    })
    .await;
    assert!(ended.is_ok(), "timeoutSeconds did not end the stream");
}

#[tokio::test]
async fn bookmarks_never_run_ahead_of_unsent_events() {
    let server =
        start_with(StandInConfig { bookmark_interval: Duration::from_millis(20), ..StandInConfig::default() }).await;
    let client = server.kube_client();
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let mut stream = api.watch(&WatchParams::default(), "0").await.unwrap_or_else(|e| panic!("{e}")).boxed();
    let writer = tokio::spawn(async move {
        for i in 0..40 {
            api.create(&PostParams::default(), &secret(&format!("s{i}"), None)).await.unwrap_or_else(|e| panic!("{e}"));
            leases
                .create(
                    &PostParams::default(),
                    &Lease { metadata: ObjectMeta { name: Some(format!("l{i}")), ..Default::default() }, spec: None },
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tokio::task::yield_now().await;
        }
    });
    let mut last_event_rv = 0u64;
    let mut last_bookmark = 0u64;
    let mut bookmarks = 0;
    let mut seen = 0;
    while seen < 40 || bookmarks < 2 {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap_or_else(|_| panic!("stalled after {seen} events, {bookmarks} bookmarks"))
            .unwrap_or_else(|| panic!("ended"))
            .unwrap_or_else(|e| panic!("{e}"));
        match ev {
            WatchEvent::Added(o) => {
                let rv = rv_num(&o);
                assert!(rv > last_bookmark, "event {rv} arrived after bookmark {last_bookmark}");
                assert!(rv > last_event_rv);
                last_event_rv = rv;
                seen += 1;
            }
            WatchEvent::Bookmark(b) => {
                let rv: u64 = b.metadata.resource_version.parse().unwrap_or(0);
                assert!(rv >= last_bookmark);
                last_bookmark = rv;
                bookmarks += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn too_old_resource_version_is_410_gone() {
    let server = start_with(StandInConfig { watch_history: 3, ..StandInConfig::default() }).await;
    let api: Api<Secret> = Api::namespaced(server.kube_client(), "default");
    let first = api.create(&PostParams::default(), &secret("first", None)).await.unwrap_or_else(|e| panic!("{e}"));
    for i in 0..5 {
        api.create(&PostParams::default(), &secret(&format!("n{i}"), None)).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let mut stream =
        api.watch(&WatchParams::default(), &rv_num(&first).to_string()).await.unwrap_or_else(|e| panic!("{e}")).boxed();
    let ev = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.ok().flatten();
    match ev {
        Some(Ok(WatchEvent::Error(e))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
            assert!(e.message.starts_with("too old resource version:"), "{}", e.message);
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
}

#[tokio::test]
async fn watcher_relists_after_410_and_converges() {
    let server = start_with(StandInConfig { watch_history: 5, ..StandInConfig::default() }).await;
    let client = server.kube_client();
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    for n in ["w1", "w2", "w3"] {
        api.create(&PostParams::default(), &secret(n, Some("watched"))).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let state = std::sync::Arc::new(tokio::sync::Mutex::new((BTreeMap::<String, String>::new(), 0usize, false)));
    let st = state.clone();
    let cfg = watcher::Config::default().labels("app=watched").timeout(1).disable_bookmarks();
    let task = tokio::spawn(async move {
        let mut buffer = BTreeMap::new();
        let mut stream = watcher(api.clone(), cfg).boxed();
        while let Some(item) = stream.next().await {
            let mut guard = st.lock().await;
            match item {
                Ok(watcher::Event::Init) => buffer.clear(),
                Ok(watcher::Event::InitApply(o)) => {
                    buffer.insert(
                        o.metadata.name.clone().unwrap_or_default(),
                        o.metadata.resource_version.clone().unwrap_or_default(),
                    );
                }
                Ok(watcher::Event::InitDone) => {
                    guard.0 = std::mem::take(&mut buffer);
                    guard.2 = true;
                }
                Ok(watcher::Event::Apply(o)) => {
                    guard.0.insert(
                        o.metadata.name.clone().unwrap_or_default(),
                        o.metadata.resource_version.clone().unwrap_or_default(),
                    );
                }
                Ok(watcher::Event::Delete(o)) => {
                    guard.0.remove(&o.metadata.name.clone().unwrap_or_default());
                }
                Err(watcher::Error::WatchError(e)) if e.code == 410 => guard.1 += 1,
                Err(_) => {}
            }
        }
    });
    eventually(10, "initial sync", || {
        let state = state.clone();
        async move { state.lock().await.2.then_some(()) }
    })
    .await;

    // changes the watcher must end up with...
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    api.delete("w1", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    api.create(&PostParams::default(), &secret("w4", Some("watched"))).await.unwrap_or_else(|e| panic!("{e}"));
    // ...then enough unrelated writes to compact its revision away before it reconnects
    for i in 0..12 {
        leases
            .create(
                &PostParams::default(),
                &Lease { metadata: ObjectMeta { name: Some(format!("noise{i}")), ..Default::default() }, spec: None },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // a change the watcher can only learn through the relist after the 410
    eventually(15, "a 410 seen by the watcher", || {
        let state = state.clone();
        async move { (state.lock().await.1 > 0).then_some(()) }
    })
    .await;
    api.patch("w2", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let want: Vec<String> = vec!["w3".into(), "w4".into()];
    eventually(15, "the watcher to converge after relisting", || {
        let state = state.clone();
        let want = want.clone();
        async move {
            let guard = state.lock().await;
            (guard.0.keys().cloned().collect::<Vec<_>>() == want).then_some(())
        }
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_end() {
    let server = start().await;
    let api: Api<Secret> = Api::namespaced(server.kube_client(), "default");
    for n in ["x", "y"] {
        api.create(&PostParams::default(), &secret(n, None)).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let events: Vec<watcher::Event<Secret>> = watcher(api.clone(), watcher::Config::default().streaming_lists())
        .take(4)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(events[0], watcher::Event::Init));
    let names: Vec<String> = events[1..3]
        .iter()
        .map(|e| match e {
            watcher::Event::InitApply(o) => o.metadata.name.clone().unwrap_or_default(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(names, vec!["x", "y"]);
    assert!(matches!(events[3], watcher::Event::InitDone));
}

#[tokio::test]
async fn namespace_and_cluster_wide_watches_and_finalized_deletes() {
    let server = start().await;
    let client = server.kube_client();
    common::install_crds(&client).await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &k8s_openapi::api::core::v1::Namespace {
                metadata: ObjectMeta { name: Some("other".into()), ..Default::default() },
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let all: Api<common::IsolationProfile> = Api::all(client.clone());
    let default_ns: Api<common::IsolationProfile> = Api::namespaced(client.clone(), "default");
    let other_ns: Api<common::IsolationProfile> = Api::namespaced(client.clone(), "other");
    let mut everywhere = all.watch(&WatchParams::default(), "0").await.unwrap_or_else(|e| panic!("{e}")).boxed();
    let mut only_default =
        default_ns.watch(&WatchParams::default(), "0").await.unwrap_or_else(|e| panic!("{e}")).boxed();

    let mut p = common::profile("a", "A", &["us-east", "eu-west"]);
    p.metadata.namespace = None;
    p.metadata.finalizers = Some(vec!["x/hold".into()]);
    other_ns.create(&PostParams::default(), &p).await.unwrap_or_else(|e| panic!("{e}"));
    p.metadata.finalizers = None;
    default_ns.create(&PostParams::default(), &p).await.unwrap_or_else(|e| panic!("{e}"));

    let describe = |ev: &WatchEvent<common::IsolationProfile>| match ev {
        WatchEvent::Added(o) => format!(
            "ADDED {}/{}",
            o.metadata.namespace.clone().unwrap_or_default(),
            o.metadata.name.clone().unwrap_or_default()
        ),
        WatchEvent::Modified(o) => format!(
            "MODIFIED {}/{} deleting={}",
            o.metadata.namespace.clone().unwrap_or_default(),
            o.metadata.name.clone().unwrap_or_default(),
            o.metadata.deletion_timestamp.is_some()
        ),
        WatchEvent::Deleted(o) => format!(
            "DELETED {}/{}",
            o.metadata.namespace.clone().unwrap_or_default(),
            o.metadata.name.clone().unwrap_or_default()
        ),
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    };
    async fn collect(
        stream: &mut futures::stream::BoxStream<'static, kube::Result<WatchEvent<common::IsolationProfile>>>,
        n: usize,
        describe: &dyn Fn(&WatchEvent<common::IsolationProfile>) -> String,
    ) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                Ok(Some(Ok(WatchEvent::Bookmark(_)))) => {}
                Ok(Some(Ok(ev))) => out.push(describe(&ev)),
                other => panic!("after {out:?}: {other:?}"),
            }
        }
        out
    }
    assert_eq!(collect(&mut everywhere, 2, &describe).await, vec!["ADDED other/a", "ADDED default/a"]);
    assert_eq!(collect(&mut only_default, 1, &describe).await, vec!["ADDED default/a"]);

    // delete with a finalizer: MODIFIED with deletionTimestamp, then DELETED once released
    other_ns.delete("a", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    other_ns
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "remove", "path": "/metadata/finalizers"}]))
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    default_ns.delete("a", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        collect(&mut everywhere, 3, &describe).await,
        vec!["MODIFIED other/a deleting=true", "DELETED other/a", "DELETED default/a"]
    );
    assert_eq!(collect(&mut only_default, 1, &describe).await, vec!["DELETED default/a"]);
}
