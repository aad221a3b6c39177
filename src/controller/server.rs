//! The operator's HTTP endpoints: `/metrics`, `/healthz` (the process
//! serves) and `/readyz` (every cache has its initial list, or the replica
//! stands by for leadership).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use kube::runtime::reflector::Store;

use crate::metrics::Metrics;

/// Whether the operator is ready to serve.
#[derive(Clone, Default)]
pub struct Readiness {
    inner: Arc<ReadinessInner>,
}

#[derive(Default)]
struct ReadinessInner {
    tracked: AtomicUsize,
    pending: AtomicUsize,
    standby: AtomicBool,
}

impl Readiness {
    /// Counts `store` as pending until its first full list arrives.
    pub fn track<K>(&self, store: Store<K>)
    where
        K: kube::Resource + Clone + Send + Sync + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
    {
        self.inner.tracked.fetch_add(1, Ordering::SeqCst);
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            if store.wait_until_ready().await.is_ok() {
                inner.pending.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }

    /// A replica waiting for the leader Lease is healthy and counts as ready.
    pub fn set_standby(&self, standby: bool) {
        self.inner.standby.store(standby, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.inner.standby.load(Ordering::SeqCst)
            || (self.inner.tracked.load(Ordering::SeqCst) > 0 && self.inner.pending.load(Ordering::SeqCst) == 0)
    }
}

#[derive(Clone)]
struct ServerState {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    readiness: Readiness,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(ServerState { metrics, readiness });
    axum::serve(listener, app).await
}

pub async fn bind(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await
}

async fn metrics_text(State(state): State<ServerState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.encode())
}

async fn ready(State(state): State<ServerState>) -> impl IntoResponse {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
    }
}
