//! Request counters for `GET /__sim/stats`: per method and route template,
//! per status code, 429s sent, dropped connections. Admin calls are not counted.

use std::collections::BTreeMap;

use serde::Serialize;

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// Closed without a response (a dropped-connection fault), after being
    /// applied when `committed`.
    Dropped {
        committed: bool,
    },
}

/// The `GET /__sim/stats` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every counted request.
    pub total_requests: u64,
    /// `"<METHOD> <route template>"`, e.g.
    /// `"GET /cbiconfig/cbi/api/customers/{customerId}/profiles"` (the `/zpa`
    /// prefix removed; unknown paths count as `"<METHOD> UNMATCHED"`).
    pub by_route: BTreeMap<String, u64>,
    /// Status code (as a string) or `"dropped"`.
    pub by_status: BTreeMap<String, u64>,
    /// Per route, per status.
    pub by_route_status: BTreeMap<String, BTreeMap<String, u64>>,
    /// 429 answers sent (rate limiter and storms).
    pub too_many_requests: u64,
    /// Connections closed without a response.
    pub dropped_connections: u64,
    /// Of those, how many after the request was applied.
    pub dropped_after_commit: u64,
    /// Requests that came in under the OneAPI `/zpa` prefix.
    pub one_api_requests: u64,
    /// Answers made by a fault instead of the handler, by fault (the
    /// `FaultConfig` key: `notMapped`, `editLock`, ...).
    pub faults_injected: BTreeMap<String, u64>,
}

impl Stats {
    pub fn injected(&mut self, fault: &str) {
        *self.faults_injected.entry(fault.to_owned()).or_default() += 1;
    }

    pub fn record(&mut self, method: &str, route: &str, one_api: bool, outcome: Outcome) {
        let key = format!("{method} {route}");
        let status = match outcome {
            Outcome::Status(code) => code.to_string(),
            Outcome::Dropped { .. } => "dropped".to_owned(),
        };
        self.total_requests += 1;
        *self.by_route.entry(key.clone()).or_default() += 1;
        *self.by_status.entry(status.clone()).or_default() += 1;
        *self.by_route_status.entry(key).or_default().entry(status).or_default() += 1;
        match outcome {
            Outcome::Status(429) => self.too_many_requests += 1,
            Outcome::Dropped { committed } => {
                self.dropped_connections += 1;
                if committed {
                    self.dropped_after_commit += 1;
                }
            }
            Outcome::Status(_) => {}
        }
        if one_api {
            self.one_api_requests += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_status_and_kind() {
        let mut stats = Stats::default();
        stats.record("GET", "/a/{id}", false, Outcome::Status(200));
        stats.record("GET", "/a/{id}", true, Outcome::Status(429));
        stats.record("POST", "/a", false, Outcome::Dropped { committed: true });
        assert_eq!(stats.total_requests, 3);
        assert_eq!(stats.by_route["GET /a/{id}"], 2);
        assert_eq!(stats.by_status["429"], 1);
        assert_eq!(stats.by_route_status["POST /a"]["dropped"], 1);
        assert_eq!((stats.too_many_requests, stats.dropped_connections, stats.dropped_after_commit), (1, 1, 1));
        assert_eq!(stats.one_api_requests, 1);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["byRoute"]["GET /a/{id}"], 2);
    }
}
