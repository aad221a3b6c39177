//! The client-side rate limiter: one per tenant, shared by every caller.
//!
//! ZPA allows 20 GET and 10 POST/PUT/DELETE per 10 s per organisation (fixed
//! windows that start at the first call). A sliding log that admits at most
//! `limit` requests in any `window + margin` interval can never exceed a fixed
//! window, whatever its alignment; the margin absorbs network jitter between
//! our clock and the server's. Reads and writes have separate budgets so
//! observation never starves creates. Waiters are served first come, first
//! served (tokio's `Mutex` is fair).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Per-tenant budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub reads: u32,
    pub writes: u32,
    pub window: Duration,
    /// Added to the window to absorb latency jitter (see module docs).
    pub margin: Duration,
}

impl Default for RateLimits {
    /// ZPA's documented limits.
    fn default() -> Self {
        Self { reads: 20, writes: 10, window: Duration::from_secs(10), margin: Duration::from_millis(250) }
    }
}

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    Read,
    Write,
}

impl Budget {
    pub fn for_method(method: &reqwest::Method) -> Self {
        if method == reqwest::Method::GET { Budget::Read } else { Budget::Write }
    }

    pub fn label(self) -> &'static str {
        match self {
            Budget::Read => "read",
            Budget::Write => "write",
        }
    }
}

/// A tenant's limiter. `RateLimiter::unlimited()` admits everything at once.
#[derive(Debug)]
pub struct RateLimiter {
    reads: Option<Bucket>,
    writes: Option<Bucket>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        let span = limits.window + limits.margin;
        Self { reads: Bucket::new(limits.reads, span), writes: Bucket::new(limits.writes, span) }
    }

    pub fn unlimited() -> Self {
        Self { reads: None, writes: None }
    }

    fn bucket(&self, budget: Budget) -> Option<&Bucket> {
        match budget {
            Budget::Read => self.reads.as_ref(),
            Budget::Write => self.writes.as_ref(),
        }
    }

    /// Waits for a slot in `budget`; returns how long it waited.
    pub async fn acquire(&self, budget: Budget) -> Duration {
        match self.bucket(budget) {
            Some(bucket) => bucket.acquire().await,
            None => Duration::ZERO,
        }
    }

    /// After a 429: admit nothing from `budget` for `pause`.
    pub fn pause(&self, budget: Budget, pause: Duration) {
        if let Some(bucket) = self.bucket(budget) {
            bucket.pause(pause);
        }
    }
}

#[derive(Debug)]
struct Bucket {
    limit: usize,
    span: Duration,
    queue: tokio::sync::Mutex<()>,
    state: Mutex<BucketState>,
}

#[derive(Debug, Default)]
struct BucketState {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl Bucket {
    fn new(limit: u32, span: Duration) -> Option<Self> {
        (limit > 0).then(|| Self {
            limit: limit as usize,
            span,
            queue: tokio::sync::Mutex::new(()),
            state: Mutex::new(BucketState::default()),
        })
    }

    async fn acquire(&self) -> Duration {
        let started = Instant::now();
        let _turn = self.queue.lock().await;
        loop {
            let wake_at = match self.try_take(Instant::now()) {
                None => return started.elapsed(),
                Some(at) => at,
            };
            tokio::time::sleep_until(wake_at).await;
        }
    }

    /// Takes a slot now, or says when one frees up.
    fn try_take(&self, now: Instant) -> Option<Instant> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(until) = state.paused_until {
            if now < until {
                return Some(until);
            }
            state.paused_until = None;
        }
        while state.sent.front().is_some_and(|t| now.duration_since(*t) >= self.span) {
            state.sent.pop_front();
        }
        if state.sent.len() < self.limit {
            state.sent.push_back(now);
            return None;
        }
        state.sent.front().map(|oldest| *oldest + self.span)
    }

    fn pause(&self, pause: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = Instant::now() + pause;
        state.paused_until = Some(state.paused_until.map_or(until, |current| current.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(reads: u32, writes: u32) -> RateLimits {
        RateLimits { reads, writes, window: Duration::from_secs(10), margin: Duration::ZERO }
    }

    /// With time paused, tokio auto-advances the clock, so this checks the
    /// schedule exactly: no interval of one window ever holds more than the limit.
    #[tokio::test(start_paused = true)]
    async fn never_admits_more_than_the_limit_in_any_window() {
        let limiter = RateLimiter::new(limits(20, 10));
        let start = Instant::now();
        let mut admitted = Vec::new();
        for _ in 0..35 {
            limiter.acquire(Budget::Write).await;
            admitted.push(start.elapsed());
        }
        for (i, t) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().filter(|u| **u - *t < Duration::from_secs(10)).count();
            assert!(in_window <= 10, "{in_window} writes within 10 s of {t:?}");
        }
        // 35 writes at 10 per 10 s: the last one goes out at 30 s, not later.
        assert_eq!(admitted[34], Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn reads_and_writes_have_separate_budgets() {
        let limiter = RateLimiter::new(limits(2, 1));
        let start = Instant::now();
        limiter.acquire(Budget::Write).await;
        limiter.acquire(Budget::Read).await;
        limiter.acquire(Budget::Read).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the write did not consume read budget");
        limiter.acquire(Budget::Write).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_caller() {
        let limiter = RateLimiter::new(limits(20, 10));
        limiter.pause(Budget::Read, Duration::from_secs(13));
        let waited = limiter.acquire(Budget::Read).await;
        assert_eq!(waited, Duration::from_secs(13));
        assert_eq!(limiter.acquire(Budget::Write).await, Duration::ZERO, "writes were not paused");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let limiter = RateLimiter::unlimited();
        for _ in 0..1000 {
            assert_eq!(limiter.acquire(Budget::Write).await, Duration::ZERO);
        }
    }

    /// Creates are not starved by observation: a long queue of reads (a list
    /// of many pages, per-object GETs) never delays a write, and writers are
    /// served in the order they arrived.
    #[tokio::test(start_paused = true)]
    async fn a_queue_of_reads_never_delays_a_write_and_writers_are_served_in_order() {
        let limiter = std::sync::Arc::new(RateLimiter::new(limits(2, 1)));
        let start = Instant::now();
        let reads: Vec<_> = (0..50)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire(Budget::Read).await })
            })
            .collect();
        tokio::task::yield_now().await;
        limiter.acquire(Budget::Write).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the write waited behind reads");

        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut writers = Vec::new();
        for i in 0..3 {
            let (limiter, order) = (limiter.clone(), order.clone());
            writers.push(tokio::spawn(async move {
                limiter.acquire(Budget::Write).await;
                order.lock().unwrap().push((i, start.elapsed()));
            }));
            tokio::task::yield_now().await;
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(order, vec![(0, secs(10)), (1, secs(20)), (2, secs(30))]);
        for read in reads {
            read.await.unwrap();
        }
        assert_eq!(start.elapsed(), secs(240), "50 reads at 2 per 10 s");
    }
}
