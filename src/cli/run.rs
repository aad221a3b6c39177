//! `zpa-operator run`: the operator.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kube::Client;
use kube::api::{Api, ListParams};
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::duration;
use crate::controller::leader::{self, LeaderElection};
use crate::controller::server::{self, Readiness};
use crate::controller::{Context, FIELD_MANAGER, RunOptions, Settings, run_controllers};
use crate::crd::{IsolationProfile, Microtenant, ZpaProviderConfig};
use crate::metrics::Metrics;
use crate::remote::{TenantDefaults, TenantRegistry};
use crate::telemetry::{self, LogFormat};
use crate::zpa::RateLimits;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// How often every object is compared with ZPA when nothing changed (drift detection).
    #[arg(long, default_value = "30m", value_parser = duration::parse, env = "ZPA_OPERATOR_RESYNC_INTERVAL")]
    pub resync_interval: Duration,
    /// Namespaces to watch (comma-separated); all namespaces when empty.
    #[arg(long, value_delimiter = ',', env = "ZPA_OPERATOR_WATCH_NAMESPACES")]
    pub watch_namespaces: Vec<String>,
    /// Only the ZpaProviderConfigs this label selector matches are this
    /// operator's (for several operators in one cluster, e.g. one per team).
    #[arg(long, env = "ZPA_OPERATOR_PROVIDER_CONFIG_SELECTOR")]
    pub provider_config_selector: Option<String>,
    /// Reconciles running at once per controller.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u16,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_listen: SocketAddr,
    /// ZPA reads allowed per window, per tenant (a provider config may override).
    #[arg(long, default_value_t = 20)]
    pub rate_limit_reads: u32,
    /// ZPA writes (POST/PUT/DELETE) allowed per window, per tenant.
    #[arg(long, default_value_t = 10)]
    pub rate_limit_writes: u32,
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub rate_limit_window: Duration,
    /// Turn the client-side ZPA rate limiter off (tests and benchmarks only).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Only the holder of a coordination.k8s.io Lease reconciles (for more than one replica).
    #[arg(long = "leader-elect", alias = "leader-election")]
    pub leader_elect: bool,
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub leader_election_namespace: String,
    #[arg(long, default_value = "zpa-operator-leader")]
    pub leader_election_lease: String,
    /// How long a Lease stays valid after its last renewal; a standby takes over after that.
    #[arg(long = "leader-elect-lease-duration", default_value = "15s", value_parser = duration::parse)]
    pub lease_duration: Duration,
    /// The leader stops reconciling when it could not renew for this long (shorter than the lease duration).
    #[arg(long = "leader-elect-renew-deadline", default_value = "10s", value_parser = duration::parse)]
    pub renew_deadline: Duration,
    /// Between two attempts to acquire or renew the Lease.
    #[arg(long = "leader-elect-retry-period", default_value = "2s", value_parser = duration::parse)]
    pub retry_period: Duration,
    /// On SIGTERM/SIGINT, how long reconciles in flight may take to finish
    /// (keep it below the pod's terminationGracePeriodSeconds).
    #[arg(long, default_value = "20s", value_parser = duration::parse)]
    pub shutdown_grace: Duration,
    #[arg(long, default_value = "info", env = "ZPA_OPERATOR_LOG_LEVEL")]
    pub log_level: String,
    #[arg(long, value_enum, default_value = "text", env = "ZPA_OPERATOR_LOG_FORMAT")]
    pub log_format: LogFormat,
}

pub async fn run(args: RunArgs) -> ExitCode {
    telemetry::init(&args.log_level, args.log_format);
    match run_operator(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_operator(args: RunArgs) -> Result<(), String> {
    // Installed first, so a SIGTERM at any point from here on is handled.
    let mut shutdown = ShutdownSignal::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let election = args.leader_elect.then(|| election(&args)).transpose()?;
    let client = Client::try_default().await.map_err(|e| format!("cannot reach Kubernetes: {e}"))?;
    check_crds_installed(&client, args.watch_namespaces.first().map(String::as_str)).await?;
    if let Some(selector) = &args.provider_config_selector {
        check_selector(&client, selector).await?;
    }

    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::default();
    let listener = server::bind(args.metrics_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.metrics_listen))?;
    let address = listener.local_addr().map_err(|e| format!("cannot listen on {}: {e}", args.metrics_listen))?;
    tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    tokio::spawn(server::serve(listener, metrics.clone(), readiness.clone()));

    let rate_limits = (!args.no_rate_limit).then(|| RateLimits {
        reads: args.rate_limit_reads,
        writes: args.rate_limit_writes,
        window: args.rate_limit_window,
        ..RateLimits::default()
    });
    let tenants = TenantRegistry::new(TenantDefaults {
        rate_limits,
        observe_max_age: args.resync_interval,
        observer: metrics.clone(),
    });
    let settings = Settings {
        resync_interval: args.resync_interval,
        field_manager: FIELD_MANAGER.to_owned(),
        provider_config_selector: args.provider_config_selector.clone(),
    };
    let ctx = Arc::new(Context::new(client.clone(), tenants, metrics, settings));
    let options = RunOptions { watch_namespaces: args.watch_namespaces.clone(), concurrency: args.concurrency };

    let Some(election) = election else {
        let controllers = run_controllers(client, ctx, options, readiness);
        run_until_shutdown(controllers, &mut shutdown, args.shutdown_grace).await;
        return Ok(());
    };
    readiness.set_standby(true);
    let acquired_at = tokio::select! {
        at = leader::acquire(&client, &election) => at,
        signal = shutdown.recv() => {
            tracing::info!(signal, "shutting down while standing by");
            return Ok(());
        }
    };
    readiness.set_standby(false);
    let controllers = run_controllers(client.clone(), ctx, options, readiness);
    // Losing the Lease drops the controllers, and with them every reconcile
    // in flight: safe, since a create whose answer is lost is covered by its
    // create-pending marker.
    tokio::select! {
        () = run_until_shutdown(controllers, &mut shutdown, args.shutdown_grace) => {}
        lost = leader::hold(&client, &election, acquired_at) => {
            return Err(format!(
                "lost the leader Lease ({lost}); stopped reconciling, exiting so this replica restarts as a candidate"
            ));
        }
    }
    match tokio::time::timeout(election.renew_deadline, leader::release(&client, &election)).await {
        Ok(Ok(true)) => tracing::info!(lease = %election.lease_name, "released the leader Lease"),
        Ok(Ok(false)) => tracing::warn!(lease = %election.lease_name, "the leader Lease was no longer ours to release"),
        Ok(Err(error)) => tracing::warn!(%error, "releasing the leader Lease failed; it expires on its own"),
        Err(_) => tracing::warn!("releasing the leader Lease timed out; it expires on its own"),
    }
    Ok(())
}

fn election(args: &RunArgs) -> Result<LeaderElection, String> {
    let election = LeaderElection {
        namespace: args.leader_election_namespace.clone(),
        lease_name: args.leader_election_lease.clone(),
        identity: std::env::var("POD_NAME").unwrap_or_else(|_| format!("zpa-operator-{}", std::process::id())),
        lease_duration: args.lease_duration,
        renew_deadline: args.renew_deadline,
        retry_period: args.retry_period,
    };
    election.validate().map_err(|e| format!("leader election: {e}"))?;
    Ok(election)
}

/// Runs the controllers until they stop. On SIGTERM/SIGINT they take no new
/// work (kube's `shutdown_on_signal`) and the reconciles in flight get
/// `grace` to finish; after that they are abandoned.
async fn run_until_shutdown(controllers: impl Future<Output = ()>, shutdown: &mut ShutdownSignal, grace: Duration) {
    tokio::pin!(controllers);
    tokio::select! {
        () = &mut controllers => return,
        signal = shutdown.recv() => {
            tracing::info!(signal, ?grace, "shutting down: no new reconciles, waiting for the ones in flight");
        }
    }
    match tokio::time::timeout(grace, controllers).await {
        Ok(()) => tracing::info!("reconciles in flight finished"),
        Err(_) => tracing::warn!(?grace, "shutdown grace period over; abandoning the reconciles still in flight"),
    }
}

/// SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C).
struct ShutdownSignal {
    terminate: Signal,
    interrupt: Signal,
}

impl ShutdownSignal {
    fn install() -> std::io::Result<Self> {
        Ok(Self { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// Fails early, with a hint, when the CRDs are missing. A namespace-scoped
/// install may only list in its namespaces, so it probes the first one.
async fn check_crds_installed(client: &Client, namespace: Option<&str>) -> Result<(), String> {
    check_served(Api::<ZpaProviderConfig>::all(client.clone())).await?;
    let namespaced = |client: &Client| match namespace {
        Some(ns) => (
            Api::<Microtenant>::namespaced(client.clone(), ns),
            Api::<IsolationProfile>::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let (microtenants, profiles) = namespaced(client);
    check_served(microtenants).await?;
    check_served(profiles).await
}

/// A selector the API server cannot parse would fail every watch; say so once, at start.
async fn check_selector(client: &Client, selector: &str) -> Result<(), String> {
    Api::<ZpaProviderConfig>::all(client.clone())
        .list(&ListParams::default().labels(selector).limit(1))
        .await
        .map(|_| ())
        .map_err(|e| format!("--provider-config-selector {selector:?} is refused by the API server: {e}"))
}

async fn check_served<K>(api: Api<K>) -> Result<(), String>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let hint = "install them with `zpa-operator crds | kubectl apply -f -` or the zpa-operator-crds Helm chart";
    api.list(&ListParams::default().limit(1))
        .await
        .map(|_| ())
        .map_err(|e| format!("the {} CRD is not served ({e}); {hint}", K::kind(&())))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> RunArgs {
        Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied())).expect("valid flags").run
    }

    #[test]
    fn leader_election_defaults_are_client_go_s_and_the_old_flag_still_works() {
        let args = parse(&["--leader-election"]);
        assert!(args.leader_elect);
        let election = election(&args).expect("valid timing");
        assert_eq!(election.lease_duration, LeaderElection::DEFAULT_LEASE_DURATION);
        assert_eq!(election.renew_deadline, LeaderElection::DEFAULT_RENEW_DEADLINE);
        assert_eq!(election.retry_period, LeaderElection::DEFAULT_RETRY_PERIOD);
        assert_eq!(args.shutdown_grace, Duration::from_secs(20));
        assert!(!parse(&[]).leader_elect);
    }

    #[test]
    fn the_simulator_s_default_port_is_not_the_metrics_port_and_the_examples_use_it() {
        #[derive(Parser)]
        struct Simulator {
            #[command(flatten)]
            args: crate::simulator::SimulatorArgs,
        }
        let simulator = Simulator::try_parse_from(["simulator"]).expect("defaults parse").args.listen;
        let metrics = parse(&[]).metrics_listen;
        assert_ne!(simulator.port(), metrics.port(), "`zpa-operator simulator` and `zpa-operator run` side by side");
        let example = include_str!("../../examples/00-provider-config.yaml");
        let base_url = format!("baseUrl: http://127.0.0.1:{}", simulator.port());
        assert!(example.contains(&base_url), "examples/00-provider-config.yaml points at the simulator's default port");
    }

    #[test]
    fn a_renew_deadline_not_below_the_lease_duration_is_refused() {
        let args =
            parse(&["--leader-elect", "--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "3s"]);
        let error = election(&args).expect_err("a leader could outlive its Lease");
        assert!(error.contains("renew deadline"), "{error}");
    }
}
