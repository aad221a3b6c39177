//! The metrics hook: the client reports every HTTP attempt and every limiter
//! wait; the operator turns them into Prometheus series. The client itself
//! knows nothing of Prometheus.

use std::time::Duration;

use super::limiter::Budget;

/// How one HTTP attempt ended, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    NotFound,
    ClientError,
    Unauthorized,
    RateLimited,
    Conflict,
    ServerError,
    TransportError,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::NotFound => "not_found",
            Outcome::ClientError => "client_error",
            Outcome::Unauthorized => "unauthorized",
            Outcome::RateLimited => "rate_limited",
            Outcome::Conflict => "conflict",
            Outcome::ServerError => "server_error",
            Outcome::TransportError => "transport_error",
        }
    }

    pub(crate) fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Outcome::Success,
            401 | 403 => Outcome::Unauthorized,
            404 => Outcome::NotFound,
            409 | 412 => Outcome::Conflict,
            429 => Outcome::RateLimited,
            500..=599 => Outcome::ServerError,
            _ => Outcome::ClientError,
        }
    }
}

/// Receives one call per HTTP attempt (`operation` is a stable name such as
/// `microtenants.create`) and one per limiter wait.
pub trait RequestObserver: Send + Sync + 'static {
    fn request(&self, operation: &'static str, outcome: Outcome, elapsed: Duration);
    fn throttled(&self, budget: Budget, waited: Duration);
}

/// Observes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl RequestObserver for NoopObserver {
    fn request(&self, _: &'static str, _: Outcome, _: Duration) {}
    fn throttled(&self, _: Budget, _: Duration) {}
}
