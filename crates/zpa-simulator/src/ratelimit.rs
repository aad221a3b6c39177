//! ZPA's rate limits: per organisation, fixed windows that start at the first
//! call, 20 GET and 10 POST/PUT/DELETE per 10 s by default. A refused call is
//! answered 429 with `retry-after: <seconds left in the window>s` and does not
//! count against the window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Limits per window; `None` in the simulator config switches limiting off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// GET requests allowed per window.
    pub get_limit: u32,
    /// POST/PUT/DELETE (and PATCH) requests allowed per window.
    pub write_limit: u32,
    /// Window length in milliseconds.
    pub window_ms: u64,
}

impl Default for RateLimitConfig {
    /// The documented ZPA limits: 20 GET and 10 writes per 10 s.
    fn default() -> Self {
        Self { get_limit: 20, write_limit: 10, window_ms: 10_000 }
    }
}

impl RateLimitConfig {
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.window_ms.max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Read,
    Write,
}

impl Class {
    pub fn of(method: &axum::http::Method) -> Self {
        if method == axum::http::Method::GET || method == axum::http::Method::HEAD { Class::Read } else { Class::Write }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// Fixed-window counters per (customer, class).
#[derive(Debug, Default)]
pub struct RateLimiter {
    config: Option<RateLimitConfig>,
    windows: HashMap<(String, Class), Window>,
}

impl RateLimiter {
    pub fn new(config: Option<RateLimitConfig>) -> Self {
        Self { config, windows: HashMap::new() }
    }

    pub fn config(&self) -> Option<RateLimitConfig> {
        self.config
    }

    /// Replaces the limits and forgets every open window.
    pub fn reconfigure(&mut self, config: Option<RateLimitConfig>) {
        self.config = config;
        self.windows.clear();
    }

    /// Counts one call; `Err(wait)` when the window is full, with the time
    /// left in it.
    pub fn check(&mut self, customer: &str, class: Class, now: Instant) -> Result<(), Duration> {
        let Some(config) = self.config else {
            return Ok(());
        };
        let limit = match class {
            Class::Read => config.get_limit,
            Class::Write => config.write_limit,
        };
        let window_len = config.window();
        let window = self.windows.entry((customer.to_owned(), class)).or_insert(Window { start: now, count: 0 });
        if now.saturating_duration_since(window.start) >= window_len {
            *window = Window { start: now, count: 0 };
        }
        if window.count >= limit {
            let elapsed = now.saturating_duration_since(window.start);
            return Err(window_len.saturating_sub(elapsed));
        }
        window.count += 1;
        Ok(())
    }
}

/// Whole seconds for a `retry-after` header: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0));
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_21st_get_in_a_window_is_refused_with_the_time_left() {
        let mut limiter = RateLimiter::new(Some(RateLimitConfig::default()));
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(limiter.check("c", Class::Read, t0 + Duration::from_millis(i * 100)).is_ok());
        }
        let wait = limiter.check("c", Class::Read, t0 + Duration::from_millis(2_500)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(7_500));
        assert_eq!(retry_after_secs(wait), 8);
        // writes and other customers have their own windows
        assert!(limiter.check("c", Class::Write, t0 + Duration::from_secs(3)).is_ok());
        assert!(limiter.check("other", Class::Read, t0 + Duration::from_secs(3)).is_ok());
        // a new window starts at the first call after the old one ended
        assert!(limiter.check("c", Class::Read, t0 + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn refused_calls_do_not_count() {
        let config = RateLimitConfig { get_limit: 1, write_limit: 1, window_ms: 1_000 };
        let mut limiter = RateLimiter::new(Some(config));
        let t0 = Instant::now();
        assert!(limiter.check("c", Class::Write, t0).is_ok());
        for ms in [1, 2, 3] {
            assert!(limiter.check("c", Class::Write, t0 + Duration::from_millis(ms)).is_err());
        }
        assert!(limiter.check("c", Class::Write, t0 + Duration::from_millis(1_000)).is_ok());
    }

    #[test]
    fn off_means_unlimited() {
        let mut limiter = RateLimiter::new(None);
        let now = Instant::now();
        assert!((0..1_000).all(|_| limiter.check("c", Class::Write, now).is_ok()));
        limiter.reconfigure(Some(RateLimitConfig { get_limit: 0, write_limit: 0, window_ms: 10 }));
        assert!(limiter.check("c", Class::Read, now).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(12_001)), 13);
        assert_eq!(retry_after_secs(Duration::from_secs(13)), 13);
    }
}
