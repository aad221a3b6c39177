//! Watch streams: newline-delimited `{"type": ..., "object": ...}` events.
//!
//! Mirrors the apiserver's watch: `resourceVersion` unset or `"0"` starts with synthetic
//! `ADDED` events for the current state; a revision `N` replays the changes after `N` from the
//! bounded history and answers an `ERROR` event carrying a 410 `Expired` Status ("too old
//! resource version") when `N` has been compacted away — the signal kube's watcher and
//! client-go reflectors use to relist; selectors turn objects entering or leaving the selection
//! into `ADDED`/`DELETED`; `allowWatchBookmarks` yields periodic `BOOKMARK`s whose revision
//! never runs ahead of events not yet sent; `sendInitialEvents=true` ends the initial state
//! with a bookmark annotated `k8s.io/initial-events-end`; `timeoutSeconds` ends the stream.

use crate::handlers::{matches, to_external};
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Change, ChangeType};
use crate::table::{self, Include};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A parsed watch request.
pub struct WatchRequest {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
    pub resource_version: Option<String>,
    pub bookmarks: bool,
    pub timeout: Option<Duration>,
    pub send_initial_events: bool,
    pub table: Option<Include>,
}

fn line(kind: &str, object: Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

impl WatchRequest {
    fn render(&self, obj: Value) -> Value {
        match self.table {
            Some(include) => {
                let rv = crate::meta::resource_version(&obj).to_string();
                table::table(&self.rt, &[obj], include, json!({"resourceVersion": rv}))
            }
            None => obj,
        }
    }

    fn selected(&self, obj: &Value) -> bool {
        if self.rt.namespaced
            && let Some(ns) = &self.namespace
            && crate::meta::namespace(obj) != ns
        {
            return false;
        }
        matches(obj, &self.labels, &self.fields)
    }

    /// The event a change produces for this watcher, if any.
    fn event(&self, change: &Change) -> Option<Bytes> {
        let new = to_external(&self.rt, &change.object);
        let kind = match change.kind {
            ChangeType::Added => self.selected(&new).then_some("ADDED"),
            ChangeType::Deleted => self.selected(&new).then_some("DELETED"),
            ChangeType::Modified => {
                let was = change.old.as_ref().is_some_and(|o| self.selected(&to_external(&self.rt, o)));
                match (was, self.selected(&new)) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }?;
        Some(line(kind, self.render(new)))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end && let Some(m) = metadata.as_object_mut() {
            m.insert("annotations".into(), json!({"k8s.io/initial-events-end": "true"}));
        }
        line("BOOKMARK", json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata}))
    }
}

fn expired(message: String) -> Bytes {
    line("ERROR", ApiError::gone(message).to_status())
}

/// Starts a watch; the initial state and the subscription are taken under one lock.
pub fn start(shared: Arc<Shared>, req: WatchRequest) -> Result<Response<Body>, ApiError> {
    let rv = match req.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {}: must be a non-negative integer",
                crate::status::go_quote(s)
            ))
        })?),
    };
    let mut initial = Vec::new();
    let mut closed_after_initial = false;
    let (rx, start_rv) = {
        let mut store = shared.lock();
        let current = store.current_rv();
        if rv.is_none() || req.send_initial_events {
            for obj in store.list(&req.rt.storage, req.namespace.as_deref()) {
                let ext = to_external(&req.rt, &obj);
                if req.selected(&ext) {
                    initial.push(line("ADDED", req.render(ext)));
                }
            }
            if req.send_initial_events && req.bookmarks {
                initial.push(req.bookmark(current, true));
            }
        } else if let Some(n) = rv {
            match store.changes_since(&req.rt.storage, n) {
                Ok(changes) => initial.extend(changes.iter().filter_map(|c| req.event(c))),
                Err(compacted) => {
                    initial.push(expired(format!("too old resource version: {n} ({compacted})")));
                    closed_after_initial = true;
                }
            }
        }
        (store.subscribe(&req.rt.storage), current)
    };
    let (tx, out_rx) = mpsc::channel::<Bytes>(256);
    let content_type =
        if req.table.is_some() { "application/json;as=Table;v=v1;g=meta.k8s.io" } else { "application/json" };
    tokio::spawn(pump(shared, req, rx, tx, initial, start_rv, closed_after_initial));
    let stream =
        futures::stream::unfold(out_rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

async fn pump(
    shared: Arc<Shared>,
    req: WatchRequest,
    mut rx: mpsc::UnboundedReceiver<Arc<Change>>,
    out: mpsc::Sender<Bytes>,
    initial: Vec<Bytes>,
    start_rv: u64,
    close: bool,
) {
    for l in initial {
        if out.send(l).await.is_err() {
            return;
        }
    }
    if close {
        return;
    }
    let mut last_bookmark = start_rv;
    let deadline = req.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut tick = tokio::time::interval(shared.bookmark_interval);
    tick.tick().await;
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            change = rx.recv() => {
                let Some(change) = change else { return };
                if let Some(l) = req.event(&change)
                    && out.send(l).await.is_err()
                {
                    return;
                }
            }
            _ = tick.tick(), if req.bookmarks => {
                let (safe, pending) = {
                    let store = shared.lock();
                    let mut pending = Vec::new();
                    while let Ok(c) = rx.try_recv() {
                        pending.push(c);
                    }
                    (store.current_rv(), pending)
                };
                for c in pending {
                    if let Some(l) = req.event(&c)
                        && out.send(l).await.is_err()
                    {
                        return;
                    }
                }
                last_bookmark = last_bookmark.max(safe);
                if out.send(req.bookmark(last_bookmark, false)).await.is_err() {
                    return;
                }
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => return,
            _ = shutdown.changed() => return,
            _ = out.closed() => return,
        }
    }
}
