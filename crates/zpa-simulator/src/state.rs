//! Shared simulator state.
//!
//! All tenant data, credentials and sessions live in one [`World`] behind one
//! std `Mutex`; the rate limiter, the faults and the counters each have their
//! own small `Mutex`. No lock is ever held across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::assertion::ClientKey;
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
    /// The Microtenant the API key is bound to (`None`: the Default Microtenant).
    pub microtenant_id: Option<String>,
}

/// API client credentials of one customer.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Empty for a client that signs in with a private key only.
    pub secret: SecretString,
    /// The public key of a client that signs in with a private key (OneAPI
    /// client assertions, see [`super::assertion`]).
    pub public_key: Option<std::sync::Arc<ClientKey>>,
    pub customer_id: String,
    /// An API key made inside a Microtenant is bound to it ("The microtenantId
    /// can be obtained in the API Keys page", the seed).
    pub microtenant_id: Option<String>,
}

/// How the simulated tenant behaves where a choice is offered (switchable at
/// runtime through `PUT /__sim/behaviour`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Behaviour {
    /// Refuse a second CBI profile with a name already used in its scope
    /// (off by default: the tenant accepts it; see [`super::profiles::Names`]).
    pub refuse_duplicate_profile_names: bool,
}

impl Behaviour {
    pub fn names(&self) -> super::profiles::Names {
        super::profiles::Names { refuse_duplicates: self.refuse_duplicate_profile_names }
    }
}

/// The last request of one route, as `GET /__sim/requests/last` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub method: String,
    /// The route template without the `/zpa` prefix (as in the stats).
    pub route: String,
    pub path: String,
    pub query: Option<String>,
    /// The body: JSON when it parses, else its text; `null` when empty.
    pub body: serde_json::Value,
}

#[derive(Debug)]
pub struct World {
    pub customers: HashMap<String, Customer>,
    /// By client id.
    pub credentials: HashMap<String, Credential>,
    /// By access token.
    pub sessions: HashMap<String, Session>,
    pub behaviour: Behaviour,
    /// The `jti`s of accepted client assertions, by client id and `jti`,
    /// with their `exp`: a second use is refused until then.
    pub used_assertions: HashMap<(String, String), u64>,
    next_zpa_profile_id: u64,
}

impl World {
    pub fn new() -> Self {
        Self {
            customers: HashMap::new(),
            credentials: HashMap::new(),
            sessions: HashMap::new(),
            behaviour: Behaviour::default(),
            used_assertions: HashMap::new(),
            next_zpa_profile_id: FIRST_ZPA_PROFILE_ID,
        }
    }

    /// A fresh numeric id for a ZPA-side isolation profile, unique across customers.
    pub fn next_zpa_profile_id(&mut self) -> String {
        let id = self.next_zpa_profile_id;
        self.next_zpa_profile_id = id.wrapping_add(1);
        id.to_string()
    }

    /// Records the `jti` of an accepted assertion of `client_id`; false when
    /// it was used before (and has not expired since). Forgets expired ones.
    pub fn first_use_of_assertion(&mut self, client_id: &str, jti: &str, exp: u64, now: u64) -> bool {
        self.used_assertions.retain(|_, expires| *expires > now);
        self.used_assertions.insert((client_id.to_owned(), jti.to_owned()), exp).is_none()
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
    /// By `"<METHOD> <route template>"`.
    requests: Mutex<std::collections::BTreeMap<String, RecordedRequest>>,
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
            requests: Mutex::new(std::collections::BTreeMap::new()),
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

    pub fn requests(&self) -> MutexGuard<'_, std::collections::BTreeMap<String, RecordedRequest>> {
        lock(&self.requests)
    }
}

/// Seconds since the epoch, as ZPA's `creationTime`/`modifiedTime` strings carry them.
pub fn epoch_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}
