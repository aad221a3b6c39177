//! A test-only stand-in for the Kubernetes API server.
//!
//! Serves, over plain HTTP on a loopback address, enough of the real apiserver's behaviour for
//! the operator (through kube's client) and `kubectl` 1.32 to run against it: discovery,
//! OpenAPI v3, CRUD with `resourceVersion`/`generation`/`uid`, merge/JSON/strategic/apply
//! patches with managed fields, CRDs with schema and CEL validation, the status subresource,
//! finalizers and garbage collection, watches with bookmarks and 410 expiry, and Tables for
//! `kubectl get`. It is never shipped in the operator image.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = kube_standin::start(kube_standin::StandInConfig::default()).await?;
//! server.write_kubeconfig("/tmp/kubeconfig")?;
//! let client = server.kube_client();
//! # drop(client);
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod builtin;
pub mod crd;
pub mod delete;
pub mod discovery;
pub mod events;
pub mod fieldset;
pub mod gc;
pub mod handlers;
pub mod jsonpath;
pub mod kubeconfig;
pub mod meta;
pub mod openapi;
pub mod patch;
pub mod proto;
pub mod registry;
pub mod request;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod ssa;
pub mod status;
pub mod store;
pub mod table;
pub mod validation;
pub mod watch;

use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Server settings.
#[derive(Clone, Debug)]
pub struct StandInConfig {
    /// Where to listen; must be a loopback address. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// How many changes watches can replay; older revisions answer 410 Gone.
    pub watch_history: usize,
    /// How often watches with `allowWatchBookmarks=true` get a BOOKMARK.
    pub bookmark_interval: Duration,
}

impl Default for StandInConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            watch_history: 100_000,
            bookmark_interval: Duration::from_secs(1),
        }
    }
}

/// A started stand-in; dropping it stops the server.
pub struct RunningStandIn {
    addr: SocketAddr,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    gc: Option<tokio::task::JoinHandle<()>>,
}

impl RunningStandIn {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Writes a kubeconfig (server = [`url`](Self::url), no auth, namespace `default`).
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        kubeconfig::write(path.as_ref(), &self.url())
    }

    /// A kube client for the stand-in (default namespace `default`).
    pub fn kube_client(&self) -> kube::Client {
        let uri = match self.url().parse::<axum::http::Uri>() {
            Ok(u) => u,
            Err(e) => panic!("stand-in URL is a valid URI: {e}"),
        };
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        match kube::Client::try_from(config) {
            Ok(c) => c,
            Err(e) => panic!("kube client for a plain-HTTP URL: {e}"),
        }
    }

    /// Stops serving: open watches end, then the listener closes.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(gc) = self.gc.take() {
            let _ = gc.await;
        }
    }
}

impl Drop for RunningStandIn {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some(gc) = self.gc.take() {
            gc.abort();
        }
    }
}

fn seed(store: &mut store::Store) {
    let key = registry::StorageKey::new("", "namespaces");
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        store.insert(
            &key,
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": name,
                    "uid": meta::new_uid(),
                    "creationTimestamp": meta::now_time(),
                    "labels": {"kubernetes.io/metadata.name": name}
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            }),
        );
    }
}

/// Starts a stand-in on a loopback address.
pub async fn start(config: StandInConfig) -> std::io::Result<RunningStandIn> {
    if !config.listen.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "kube-standin only listens on loopback addresses",
        ));
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let mut store = store::Store::new(config.watch_history);
    seed(&mut store);
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let shared = Arc::new(server::Shared::new(store, shutdown_rx.clone(), config.bookmark_interval, addr.to_string()));
    let handler_state = shared.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let shared = handler_state.clone();
        async move { server::dispatch(shared, req).await }
    });
    let mut stop = shutdown_rx.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|v| *v).await;
            })
            .await;
    });
    let gc = tokio::spawn(gc::run(shared));
    Ok(RunningStandIn { addr, shutdown_tx, server: Some(server), gc: Some(gc) })
}
