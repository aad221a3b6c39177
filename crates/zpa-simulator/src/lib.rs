//! An in-memory ZPA API simulator that speaks the real wire format.
//!
//! It serves every path of [`zpa_wire::paths`] at the root (legacy hosts,
//! `config.private.zscaler.com`) and under the OneAPI `/zpa` prefix, with
//! legacy `/signin` and OneAPI `/oauth2/v1/token` sign-in, JWT-shaped bearer
//! tokens, string ids, paged envelopes, `search`, Microtenant scoping, the
//! documented status codes and error bodies, ZPA's rate limits, and switchable
//! faults. `/__sim/...` is its own control surface (stats, faults, customers,
//! token revocation, state dumps, drift).
//!
//! Its only workspace dependency is [`zpa_wire`] (wire types and
//! [`zpa_wire::secret`]): Cargo keeps it from importing the client or the
//! operator, so the two sides agree on the wire and nothing else.
//!
//! Start one in-process with [`start`], or as `zpa-operator simulator`.

mod admin;
mod assertion;
mod auth;
mod cbi;
mod common;
mod conn;
mod customer;
mod error;
mod faults;
mod mgmt;
mod microtenant_store;
mod microtenants;
mod paging;
mod pipeline;
mod profile_store;
mod profiles;
mod query;
mod ratelimit;
mod router;
mod search;
mod seed;
mod state;
mod stats;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{
    DomainHoldFault, DropFault, EditLockBody, EditLockFault, ErrorResponseFault, FaultConfig, LatencyFault,
    MalformedBodyFault, MalformedMode, NotMappedAnswer, NotMappedFault, ServerErrorFault, SessionRefusal,
    SessionRefusedFault, TooManyRequestsFault,
};
pub use ratelimit::RateLimitConfig;
pub use seed::{OPEN_DOMAIN_SUFFIX, REGIONS, ROOT_CERTIFICATE_ID, ROOT_CERTIFICATE_NAME};
pub use state::{Behaviour, RecordedRequest};
pub use stats::Stats;

use conn::{ConnHandle, SimListener};
use state::{Sim, World};
use zpa_wire::secret::SecretString;

/// The documented default customer (ZPA tenant) id.
pub const DEFAULT_CUSTOMER_ID: &str = "72057594037927936";
pub const DEFAULT_CLIENT_ID: &str = "sim-client";
pub const DEFAULT_CLIENT_SECRET: &str = "sim-secret";

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// API client credentials of the first customer.
    pub client_id: String,
    pub client_secret: SecretString,
    /// The first customer's id (decimal).
    pub customer_id: String,
    /// `customerName` in `/me`.
    pub customer_name: String,
    /// Lifetime of issued tokens (`expires_in`, JWT `exp`).
    pub token_ttl: Duration,
    /// Per-customer limits; `None` switches rate limiting off.
    pub rate_limit: Option<RateLimitConfig>,
    /// Faults active from the start.
    pub faults: FaultConfig,
    /// The first customer's `authDomains`.
    pub auth_domains: Vec<String>,
    /// Any subdomain of this also belongs to the customer (`None`: only `auth_domains`).
    pub open_domain_suffix: Option<String>,
    /// Tenant behaviour switches (duplicate profile names accepted by default).
    pub behaviour: Behaviour,
    /// More API clients of the first customer, each signing in (OneAPI) with
    /// a client assertion of the private key matching its public key.
    pub public_key_clients: Vec<PublicKeyClient>,
}

/// An API client registered with a public key (PEM or JWK, RSA of 2048 bits
/// or more) instead of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyClient {
    pub client_id: String,
    pub public_key: String,
}

impl Default for SimulatorConfig {
    /// `127.0.0.1:0`, `sim-client`/`sim-secret`, customer `72057594037927936`,
    /// 1 h tokens, rate limits on at 20 GET and 10 writes per 10 s, no faults,
    /// auth domains example.com, example.org, example.net, dummytest.com plus
    /// every `*.example.com`.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: SecretString::new(DEFAULT_CLIENT_SECRET),
            customer_id: DEFAULT_CUSTOMER_ID.to_owned(),
            customer_name: "zscaler".to_owned(),
            token_ttl: Duration::from_secs(3600),
            rate_limit: Some(RateLimitConfig::default()),
            faults: FaultConfig::default(),
            auth_domains: seed::default_auth_domains(),
            open_domain_suffix: Some(OPEN_DOMAIN_SUFFIX.to_owned()),
            behaviour: Behaviour::default(),
            public_key_clients: Vec::new(),
        }
    }
}

/// A simulator serving on the current tokio runtime. Dropping it stops it.
#[derive(Debug)]
pub struct RunningSimulator {
    addr: SocketAddr,
    customer_id: String,
    client_id: String,
    client_secret: SecretString,
    sim: Arc<Sim>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSimulator {
    /// `http://127.0.0.1:PORT`: the legacy base URL (paths at the root).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/zpa`: the OneAPI base URL.
    pub fn oneapi_base_url(&self) -> String {
        format!("{}{}", self.base_url(), zpa_wire::paths::ONEAPI_PREFIX)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_secret(&self) -> &SecretString {
        &self.client_secret
    }

    /// Replaces the faults (like `PUT /__sim/faults`).
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), String> {
        faults.validate()?;
        self.sim.faults().set(faults, Instant::now());
        Ok(())
    }

    /// The faults as they stand (counts left).
    pub fn faults(&self) -> FaultConfig {
        self.sim.faults().snapshot(Instant::now())
    }

    /// Replaces the tenant behaviour switches (like `PUT /__sim/behaviour`).
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.sim.world().behaviour = behaviour;
    }

    /// Replaces the rate limits (`None` = off) and resets all windows.
    pub fn set_rate_limit(&self, rate_limit: Option<RateLimitConfig>) {
        self.sim.limiter().reconfigure(rate_limit);
    }

    /// Adds an API client of the first customer that signs in with a private
    /// key (like `PUT /__sim/credentials/{clientId}` with a `publicKey`).
    pub fn add_public_key_client(&self, client: &PublicKeyClient) -> Result<(), String> {
        register_public_key(&mut self.sim.world(), &self.customer_id, client)
    }

    /// Invalidates every issued token; returns how many.
    pub fn revoke_tokens(&self) -> usize {
        let mut world = self.sim.world();
        let count = world.sessions.len();
        world.sessions.clear();
        count
    }

    /// The request counters (like `GET /__sim/stats`).
    pub fn stats(&self) -> Stats {
        self.sim.stats().clone()
    }

    /// The last request of a route (`"PUT /cbiconfig/cbi/api/customers/{customerId}/profiles/{profileId}"`,
    /// like `GET /__sim/requests/last?route=...`).
    pub fn last_request(&self, route: &str) -> Option<RecordedRequest> {
        self.sim.requests().get(route).cloned()
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds, seeds the first customer, spawns the server on the current tokio
/// runtime and returns at once.
pub async fn start(config: SimulatorConfig) -> std::io::Result<RunningSimulator> {
    let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, msg);
    config.faults.validate().map_err(invalid)?;
    let mut world = World::new();
    world.behaviour = config.behaviour;
    let spec = seed::CustomerSpec {
        customer_id: config.customer_id.clone(),
        name: config.customer_name.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
        auth_domains: config.auth_domains.clone(),
        open_domain_suffix: config.open_domain_suffix.clone(),
    };
    seed::add_customer(&mut world, &spec).map_err(|err| invalid(format!("{err:?}")))?;
    let customer_id = world.customers.keys().next().cloned().unwrap_or_default();
    for client in &config.public_key_clients {
        register_public_key(&mut world, &customer_id, client).map_err(invalid)?;
    }

    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Sim::new(
        config.token_ttl,
        world,
        ratelimit::RateLimiter::new(config.rate_limit),
        faults::FaultState::new(config.faults, Instant::now()),
    ));
    let app = router::router(sim.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let server = axum::serve(SimListener::new(listener), app.into_make_service_with_connect_info::<ConnHandle>())
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        });
    let task = tokio::spawn(async move {
        if let Err(err) = server.await {
            tracing::error!(%err, "simulator server failed");
        }
    });
    tracing::info!(%addr, customer = %customer_id, "zpa simulator started");
    Ok(RunningSimulator {
        addr,
        customer_id,
        client_id: config.client_id,
        client_secret: config.client_secret,
        sim,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Adds an API client of `customer_id` that signs in with a private key.
fn register_public_key(world: &mut World, customer_id: &str, client: &PublicKeyClient) -> Result<(), String> {
    let key = assertion::ClientKey::parse(&client.public_key)
        .map_err(|why| format!("public key of API client {:?}: {why}", client.client_id))?;
    if world.credentials.contains_key(&client.client_id) {
        return Err(format!("client id {:?} is already in use", client.client_id));
    }
    let credential = state::Credential {
        secret: SecretString::default(),
        public_key: Some(Arc::new(key)),
        customer_id: customer_id.to_owned(),
        microtenant_id: None,
    };
    world.credentials.insert(client.client_id.clone(), credential);
    Ok(())
}

/// `zpa-operator simulator` flags.
#[derive(Debug, Clone, Args)]
pub struct SimulatorArgs {
    /// Address to listen on (port 0 picks a free port; the real one is printed).
    #[arg(long, default_value = "127.0.0.1:8085")]
    pub listen: SocketAddr,
    /// API client id of the seeded customer.
    #[arg(long, env = "ZPA_SIM_CLIENT_ID", default_value = DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// API client secret of the seeded customer.
    #[arg(long, env = "ZPA_SIM_CLIENT_SECRET", default_value = DEFAULT_CLIENT_SECRET, hide_env_values = true)]
    pub client_secret: SecretString,
    /// Customer (tenant) id of the seeded customer.
    #[arg(long, default_value = DEFAULT_CUSTOMER_ID)]
    pub customer_id: u64,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl_secs: u64,
    /// Switch rate limiting off.
    #[arg(long)]
    pub no_rate_limit: bool,
    /// GET requests allowed per window and customer.
    #[arg(long, default_value_t = 20)]
    pub get_limit: u32,
    /// POST/PUT/DELETE requests allowed per window and customer.
    #[arg(long, default_value_t = 10)]
    pub write_limit: u32,
    /// Rate-limit window, in seconds.
    #[arg(long, default_value_t = 10)]
    pub rate_window_secs: u64,
    /// Latency added to every API call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API calls answered 503 `retryable.server.error` (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of CBI calls answered "not mapped" (400 `zpnCbiMapping`), as a
    /// tenant without CBI answers (0.0 to 1.0; 1.0 = always).
    #[arg(long, default_value_t = 0.0)]
    pub not_mapped_rate: f64,
    /// Initial faults as JSON, the body `PUT /__sim/faults` takes
    /// (overrides --latency-ms, --error-rate and --not-mapped-rate).
    #[arg(long)]
    pub faults_json: Option<String>,
    /// An auth domain of the seeded customer (repeatable; default
    /// example.com, example.org, example.net, dummytest.com).
    #[arg(long = "auth-domain")]
    pub auth_domains: Vec<String>,
    /// Subdomains of this also belong to the customer ("" to switch off).
    #[arg(long, default_value = OPEN_DOMAIN_SUFFIX)]
    pub open_domain_suffix: String,
    /// Refuse a second CBI profile with a name already used in its scope
    /// (`resource.already.exist`). Off by default: ZPA accepts duplicates.
    #[arg(long)]
    pub refuse_duplicate_profile_names: bool,
    /// An API client of the seeded customer that signs in (OneAPI) with a
    /// private key: `CLIENT_ID=PATH`, PATH a PEM (or JWK) file of its RSA
    /// public key (repeatable).
    #[arg(long = "public-key-client", value_name = "CLIENT_ID=PATH")]
    pub public_key_clients: Vec<String>,
}

impl SimulatorArgs {
    /// The config these flags describe; the error is a usage message.
    pub fn to_config(&self) -> Result<SimulatorConfig, String> {
        for (flag, rate) in [("--error-rate", self.error_rate), ("--not-mapped-rate", self.not_mapped_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{flag} must be between 0.0 and 1.0, got {rate}"));
            }
        }
        if self.token_ttl_secs == 0 {
            return Err("--token-ttl-secs must be at least 1".to_owned());
        }
        let faults = match &self.faults_json {
            Some(json) => serde_json::from_str(json).map_err(|err| format!("--faults-json: {err}"))?,
            None => FaultConfig {
                latency: (self.latency_ms > 0).then_some(LatencyFault {
                    ms: self.latency_ms,
                    method: None,
                    path: None,
                }),
                server_errors: (self.error_rate > 0.0)
                    .then(|| ServerErrorFault { rate: Some(self.error_rate), ..ServerErrorFault::default() }),
                not_mapped: (self.not_mapped_rate > 0.0)
                    .then(|| NotMappedFault { rate: Some(self.not_mapped_rate), ..NotMappedFault::default() }),
                ..FaultConfig::default()
            },
        };
        faults.validate().map_err(|err| format!("faults: {err}"))?;
        let public_key_clients = self
            .public_key_clients
            .iter()
            .map(|flag| {
                let (client_id, path) = flag
                    .split_once('=')
                    .filter(|(id, path)| !id.is_empty() && !path.is_empty())
                    .ok_or_else(|| format!("--public-key-client must be CLIENT_ID=PATH, got {flag:?}"))?;
                let public_key = std::fs::read_to_string(path)
                    .map_err(|err| format!("--public-key-client {client_id}: cannot read {path}: {err}"))?;
                Ok(PublicKeyClient { client_id: client_id.to_owned(), public_key })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let rate_limit = (!self.no_rate_limit).then(|| RateLimitConfig {
            get_limit: self.get_limit,
            write_limit: self.write_limit,
            window_ms: self.rate_window_secs.max(1).saturating_mul(1000),
        });
        Ok(SimulatorConfig {
            listen: self.listen,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            customer_id: self.customer_id.to_string(),
            customer_name: "zscaler".to_owned(),
            token_ttl: Duration::from_secs(self.token_ttl_secs),
            rate_limit,
            faults,
            auth_domains: if self.auth_domains.is_empty() {
                seed::default_auth_domains()
            } else {
                self.auth_domains.clone()
            },
            open_domain_suffix: Some(self.open_domain_suffix.clone()).filter(|s| !s.is_empty()),
            behaviour: Behaviour { refuse_duplicate_profile_names: self.refuse_duplicate_profile_names },
            public_key_clients,
        })
    }
}

/// Runs the simulator until SIGINT/SIGTERM. Prints
/// `zpa simulator listening on http://127.0.0.1:PORT (customer ID)` on stdout.
pub async fn run_cli(args: SimulatorArgs) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .try_init();
    let config = match args.to_config() {
        Ok(config) => config,
        Err(msg) => {
            eprintln!("zpa simulator: {msg}");
            return ExitCode::from(2);
        }
    };
    let listen = config.listen;
    let sim = match start(config).await {
        Ok(sim) => sim,
        Err(err) => {
            eprintln!("zpa simulator: cannot start on {listen}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("zpa simulator listening on {} (customer {})", sim.base_url(), sim.customer_id());
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    tracing::info!("zpa simulator shutting down");
    sim.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulatorArgs,
    }

    #[test]
    fn flags_map_onto_the_config() {
        let cli = Cli::parse_from([
            "x",
            "--listen",
            "127.0.0.1:0",
            "--no-rate-limit",
            "--latency-ms",
            "5",
            "--error-rate",
            "0.5",
            "--not-mapped-rate",
            "0.25",
            "--refuse-duplicate-profile-names",
            "--auth-domain",
            "corp.test",
            "--open-domain-suffix",
            "",
        ]);
        let config = cli.args.to_config().unwrap();
        assert_eq!(config.rate_limit, None);
        assert_eq!(config.faults.latency.unwrap().ms, 5);
        assert_eq!(config.faults.server_errors.unwrap().rate, Some(0.5));
        assert_eq!(config.faults.not_mapped.unwrap().rate, Some(0.25));
        assert!(config.behaviour.refuse_duplicate_profile_names);
        assert_eq!(config.auth_domains, vec!["corp.test"]);
        assert_eq!(config.open_domain_suffix, None);
        assert_eq!(config.client_secret.expose(), DEFAULT_CLIENT_SECRET);
    }

    #[test]
    fn the_flags_stay_small() {
        // `main.rs` holds these inline in its subcommand enum (clippy's
        // large_enum_variant keeps its variants within 200 bytes of each other).
        assert!(std::mem::size_of::<SimulatorArgs>() <= 240, "{}", std::mem::size_of::<SimulatorArgs>());
    }

    #[test]
    fn default_flags_are_the_documented_limits() {
        let config = Cli::parse_from(["x"]).args.to_config().unwrap();
        assert_eq!(config.rate_limit, Some(RateLimitConfig::default()));
        assert_eq!(config.faults, FaultConfig::default());
        assert_eq!(config.behaviour, Behaviour::default(), "duplicate profile names are accepted");
        assert!(Cli::parse_from(["x", "--error-rate", "2"]).args.to_config().is_err());
        assert!(Cli::parse_from(["x", "--not-mapped-rate", "1.5"]).args.to_config().is_err());
    }
}
