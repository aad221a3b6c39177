//! How long to keep trying one call, and how long to wait between attempts.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt.
    pub base_delay: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
    /// Total time one call may take, rate-limiter queueing excluded.
    pub deadline: Duration,
    /// Per-attempt HTTP timeout.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(90),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Capped exponential backoff with jitter: a random point in the upper
    /// half of `base * 2^(attempt-1)`, so retries from many objects spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        let half = ceiling / 2;
        half + jitter(half)
    }

    /// A server-requested wait (`retry-after`) plus up to 10 % jitter, so
    /// callers paused together do not return together.
    pub fn after_server_hint(&self, hint: Duration) -> Duration {
        hint + jitter(hint / 10)
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = rand::rng().random_range(0..=max.as_nanos().min(u64::MAX as u128) as u64);
    Duration::from_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            ..Default::default()
        };
        for attempt in 1..40 {
            let ceiling = (Duration::from_millis(100) * 2u32.pow((attempt - 1).min(16))).min(Duration::from_secs(2));
            let delay = policy.backoff(attempt);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "attempt {attempt}: {delay:?} not in [{:?}, {ceiling:?}]",
                ceiling / 2
            );
        }
    }

    #[test]
    fn server_hints_are_honoured() {
        let policy = RetryPolicy::default();
        let wait = policy.after_server_hint(Duration::from_secs(13));
        assert!(wait >= Duration::from_secs(13) && wait <= Duration::from_millis(14_300));
    }
}
