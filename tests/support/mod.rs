//! Shared test helpers: the real Kubernetes control plane (`controlplane`),
//! an in-process operator on it (`cluster`) or operator processes
//! (`processes`), a simulator and a client pointed at it, log capture, and
//! polling with a deadline (tests never sleep to wait for something).

#![allow(dead_code)]

pub mod cluster;
pub mod controlplane;
pub mod install;
pub mod keys;
pub mod manifests;
pub mod processes;
pub mod release;
pub mod tenant;
pub mod zpa_calls;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zpa_operator::simulator::{self, RunningSimulator, SimulatorConfig};
use zpa_operator::zpa::{AuthMode, ClientCredentials, Endpoint, RateLimiter, RetryPolicy, ZpaClient, ZpaConfig};

/// A simulator with rate limiting off unless the test turns it on.
pub async fn simulator() -> RunningSimulator {
    simulator_with(SimulatorConfig { rate_limit: None, ..SimulatorConfig::default() }).await
}

pub async fn simulator_with(config: SimulatorConfig) -> RunningSimulator {
    simulator::start(config).await.expect("simulator starts")
}

/// Retries fast, so fault tests finish quickly.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        deadline: Duration::from_secs(20),
        request_timeout: Duration::from_secs(5),
    }
}

pub fn legacy_config(sim: &RunningSimulator) -> ZpaConfig {
    let mut config = ZpaConfig::resolve(
        &Endpoint::BaseUrl(sim.base_url()),
        &AuthMode::Legacy,
        sim.customer_id(),
        ClientCredentials::secret(sim.client_id(), sim.client_secret().clone()),
    );
    config.retry = quick_retries();
    config
}

pub fn client(sim: &RunningSimulator) -> ZpaClient {
    ZpaClient::new(legacy_config(sim), Arc::new(RateLimiter::unlimited())).expect("client builds")
}

/// Polls `check` until it yields `Some`, or panics with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The sum of a metric's samples in Prometheus text whose labels contain
/// `labels` (e.g. `kind="Microtenant"`; empty: every sample).
pub fn metric_sum(text: &str, metric: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Captures everything `tracing` writes, at every level, for secret checks.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Installs a TRACE-level subscriber for the current thread's scope.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
pub mod tools;
