//! Prometheus metrics, served on `/metrics`.
//!
//! ZPA calls are counted per operation and outcome (the client reports them
//! through [`RequestObserver`]), limiter waits per budget, reconciles per
//! kind and result, remote writes per kind and action.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::zpa::{Budget, Outcome, RequestObserver};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    pub operation: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BudgetLabels {
    pub budget: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub kind: String,
    /// `success` or the condition reason of the failure.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackoffLabels {
    pub kind: String,
    /// The condition reason of the failure that was backed off.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: String,
    /// `create`, `update`, `delete`, `adopt`.
    pub action: String,
}

pub struct Metrics {
    registry: Registry,
    pub api_requests: Family<ApiLabels, Counter>,
    pub api_duration: Family<OperationLabels, Histogram>,
    pub ratelimit_waits: Family<BudgetLabels, Counter>,
    pub ratelimit_wait_seconds: Family<BudgetLabels, Counter<f64, AtomicU64>>,
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_duration: Family<KindLabels, Histogram>,
    pub remote_writes: Family<WriteLabels, Counter>,
    pub status_writes: Family<KindLabels, Counter>,
    pub objects_in_backoff: Gauge,
    pub backoffs: Family<BackoffLabels, Counter>,
    pub backoff_delay: Family<BackoffLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("zpa_operator");
        let api_requests = Family::<ApiLabels, Counter>::default();
        let api_duration = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 12))
        });
        let ratelimit_waits = Family::<BudgetLabels, Counter>::default();
        let ratelimit_wait_seconds = Family::<BudgetLabels, Counter<f64, AtomicU64>>::default();
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        let reconcile_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        let remote_writes = Family::<WriteLabels, Counter>::default();
        let status_writes = Family::<KindLabels, Counter>::default();
        let objects_in_backoff = Gauge::default();
        let backoffs = Family::<BackoffLabels, Counter>::default();
        let backoff_delay = Family::<BackoffLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 2.0, 10))
        });
        registry.register("zpa_api_requests", "ZPA API HTTP attempts by operation and outcome", api_requests.clone());
        registry.register("zpa_api_request_duration_seconds", "ZPA API HTTP attempt latency", api_duration.clone());
        registry.register(
            "ratelimit_waits",
            "Requests that waited for the client-side rate limiter",
            ratelimit_waits.clone(),
        );
        registry.register(
            "ratelimit_wait_seconds",
            "Time spent waiting for the client-side rate limiter",
            ratelimit_wait_seconds.clone(),
        );
        registry.register("reconciles", "Reconciles by kind and result", reconciles.clone());
        registry.register("reconcile_duration_seconds", "Reconcile latency by kind", reconcile_duration.clone());
        registry.register("remote_writes", "Writes to ZPA by kind and action", remote_writes.clone());
        registry.register("status_writes", "Status writes to Kubernetes by kind", status_writes.clone());
        registry.register("objects_in_backoff", "Objects waiting out an error backoff", objects_in_backoff.clone());
        registry.register(
            "reconcile_backoffs",
            "Failed reconciles scheduled to retry after a backoff, by kind and reason",
            backoffs.clone(),
        );
        registry.register(
            "reconcile_backoff_delay_seconds",
            "The delay before retrying a failed reconcile, by kind and reason",
            backoff_delay.clone(),
        );
        Self {
            registry,
            api_requests,
            api_duration,
            ratelimit_waits,
            ratelimit_wait_seconds,
            reconciles,
            reconcile_duration,
            remote_writes,
            status_writes,
            objects_in_backoff,
            backoffs,
            backoff_delay,
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn reconciled(&self, kind: &str, result: &str, elapsed: Duration) {
        self.reconciles.get_or_create(&ReconcileLabels { kind: kind.into(), result: result.into() }).inc();
        self.reconcile_duration.get_or_create(&KindLabels { kind: kind.into() }).observe(elapsed.as_secs_f64());
    }

    pub fn remote_write(&self, kind: &str, action: &str) {
        self.remote_writes.get_or_create(&WriteLabels { kind: kind.into(), action: action.into() }).inc();
    }

    /// A failed reconcile of `kind` will be retried after `delay`.
    pub fn backed_off(&self, kind: &str, reason: &str, delay: Duration) {
        let labels = BackoffLabels { kind: kind.into(), reason: reason.into() };
        self.backoffs.get_or_create(&labels).inc();
        self.backoff_delay.get_or_create(&labels).observe(delay.as_secs_f64());
    }

    pub fn status_written(&self, kind: &str) {
        self.status_writes.get_or_create(&KindLabels { kind: kind.into() }).inc();
    }
}

impl RequestObserver for Metrics {
    fn request(&self, operation: &'static str, outcome: Outcome, elapsed: Duration) {
        self.api_requests
            .get_or_create(&ApiLabels { operation: operation.into(), outcome: outcome.label().into() })
            .inc();
        self.api_duration
            .get_or_create(&OperationLabels { operation: operation.into() })
            .observe(elapsed.as_secs_f64());
    }

    fn throttled(&self, budget: Budget, waited: Duration) {
        let labels = BudgetLabels { budget: budget.label().into() };
        self.ratelimit_waits.get_or_create(&labels).inc();
        self.ratelimit_wait_seconds.get_or_create(&labels).inc_by(waited.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_calls_are_counted_by_operation_and_outcome() {
        let metrics = Metrics::new();
        metrics.request("profiles.create", Outcome::Success, Duration::from_millis(20));
        metrics.request("profiles.create", Outcome::RateLimited, Duration::from_millis(5));
        metrics.throttled(Budget::Write, Duration::from_millis(1500));
        let text = metrics.encode();
        assert!(
            text.contains(r#"zpa_operator_zpa_api_requests_total{operation="profiles.create",outcome="success"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"zpa_operator_zpa_api_requests_total{operation="profiles.create",outcome="rate_limited"} 1"#
            )
        );
        assert!(text.contains(r#"zpa_operator_ratelimit_wait_seconds_total{budget="write"} 1.5"#));
    }

    #[test]
    fn backoffs_are_counted_with_their_delay() {
        let metrics = Metrics::new();
        metrics.backed_off("Microtenant", "Unauthorized", Duration::from_secs(3));
        metrics.backed_off("Microtenant", "Unauthorized", Duration::from_secs(6));
        let text = metrics.encode();
        assert!(
            text.contains(r#"zpa_operator_reconcile_backoffs_total{kind="Microtenant",reason="Unauthorized"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"zpa_operator_reconcile_backoff_delay_seconds_sum{kind="Microtenant",reason="Unauthorized"} 9.0"#
            ),
            "{text}"
        );
    }
}
