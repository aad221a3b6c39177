//! Shared simulator state.
//!
//! All tenant data, credentials and sessions live in one [`World`] behind one
//! std `Mutex`; the rate limiter, the faults and the counters each have their
//! own small `Mutex`. No lock is ever held across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::customer::Customer;
use super::faults::FaultState;
use super::ratelimit::RateLimiter;
use super::stats::Stats;
use zpa_wire::secret::SecretString;

/// The first numeric id of ZPA-side isolation profiles (beyond 2^53 on purpose).
pub const FIRST_ZPA_PROFILE_ID: u64 = 216_196_257_331_370_022;

/// A signed-in API client.
#[derive(Debug, Clone)]
pub struct Session {
    pub customer_id: String,
    pub expires_at: Instant,
}

/// API client credentials of one customer.
#[derive(Debug, Clone)]
pub struct Credential {
    pub secret: SecretString,
    pub customer_id: String,
}

#[derive(Debug)]
pub struct World {
    pub customers: HashMap<String, Customer>,
    /// By client id.
    pub credentials: HashMap<String, Credential>,
    /// By access token.
    pub sessions: HashMap<String, Session>,
    next_zpa_profile_id: u64,
}

impl World {
    pub fn new() -> Self {
        Self {
            customers: HashMap::new(),
            credentials: HashMap::new(),
            sessions: HashMap::new(),
            next_zpa_profile_id: FIRST_ZPA_PROFILE_ID,
        }
    }

    /// A fresh numeric id for a ZPA-side isolation profile, unique across customers.
    pub fn next_zpa_profile_id(&mut self) -> String {
        let id = self.next_zpa_profile_id;
        self.next_zpa_profile_id = id.wrapping_add(1);
        id.to_string()
    }

    /// Forgets expired sessions.
    pub fn prune_sessions(&mut self, now: Instant) {
        self.sessions.retain(|_, s| s.expires_at > now);
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Sim {
    pub token_ttl: Duration,
    world: Mutex<World>,
    limiter: Mutex<RateLimiter>,
    faults: Mutex<FaultState>,
    stats: Mutex<Stats>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves consistent data in this simulator
    // (every mutation is validated first), so keep serving.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sim {
    pub fn new(token_ttl: Duration, world: World, limiter: RateLimiter, faults: FaultState) -> Self {
        Self {
            token_ttl,
            world: Mutex::new(world),
            limiter: Mutex::new(limiter),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
        }
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    pub fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.limiter)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }
}

/// Seconds since the epoch, as ZPA's `creationTime`/`modifiedTime` strings carry them.
pub fn epoch_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}
