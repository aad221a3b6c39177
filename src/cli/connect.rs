//! How `plan`, `sync` and `export` reach a tenant: the `ZpaProviderConfig`
//! of the manifests with its Secret (or `ZPA_CLIENT_ID`/`ZPA_CLIENT_SECRET`),
//! or with `--simulator` an embedded ZPA simulator.
//!
//! Before any object is looked at, each tenant is signed in to with a few
//! quick tries ([`Connector::check`]): an unreachable tenant fails at once
//! with the URL that was tried and a hint, instead of every object waiting
//! out the client's retries.

use std::sync::Arc;
use std::time::Duration;

use super::manifests::Manifests;
use crate::reconcile::ReconcileError;
use crate::remote::tenant::{rate_limits_for, zpa_config_for};
use crate::remote::{Tenant, TenantDefaults, TenantRegistry};
use crate::simulator::{self, RunningSimulator, SimulatorConfig};
use crate::zpa::{AuthMode, ClientCredentials, Endpoint, NoopObserver, RateLimits, ZpaConfig, ZpaError};

/// Sign-in attempts before a tenant counts as unreachable.
pub const CONNECT_ATTEMPTS: u32 = 3;
/// Pause between two of them.
const CONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Why a tenant cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot start the embedded simulator: {0}")]
    Simulator(std::io::Error),
    #[error(
        "cannot reach ZPA at {url} ({error}; {attempts} attempts). Check the ZpaProviderConfig's baseUrl or cloud \
         and the network; to try the manifests without a tenant, add --simulator (an embedded ZPA simulator)"
    )]
    Unreachable { url: String, error: ZpaError, attempts: u32 },
    #[error(
        "ZPA at {url} refused the sign-in ({error}). Check the credentials Secret of the ZpaProviderConfig (or \
         ZPA_CLIENT_ID/ZPA_CLIENT_SECRET); to try the manifests without a tenant, add --simulator"
    )]
    SignIn { url: String, error: ZpaError },
    #[error("ZpaProviderConfig {name:?}: {error}")]
    Config { name: String, error: ReconcileError },
}

/// The tenants of one run, by provider config name.
pub struct Connector<'m> {
    manifests: &'m Manifests,
    tenants: TenantRegistry,
    simulator: Option<RunningSimulator>,
}

impl<'m> Connector<'m> {
    /// With `simulator`, every provider config name leads to one embedded simulator.
    pub async fn new(manifests: &'m Manifests, simulator: bool) -> Result<Self, ConnectError> {
        let simulator = match simulator {
            true => Some(simulator::start(SimulatorConfig::default()).await.map_err(ConnectError::Simulator)?),
            false => None,
        };
        let tenants = TenantRegistry::new(TenantDefaults {
            rate_limits: Some(RateLimits::default()),
            observe_max_age: Duration::from_secs(3600),
            observer: Arc::new(NoopObserver),
        });
        Ok(Self { manifests, tenants, simulator })
    }

    pub fn simulator(&self) -> Option<&RunningSimulator> {
        self.simulator.as_ref()
    }

    /// The client-side rate limits `provider_config`'s tenant runs under.
    pub fn rate_limits(&self, provider_config: &str) -> RateLimits {
        match (&self.simulator, self.manifests.provider_config(provider_config)) {
            (None, Some(config)) => rate_limits_for(&config.spec).unwrap_or_default(),
            _ => RateLimits::default(),
        }
    }

    /// The tenant of `provider_config` (built once, then shared).
    pub fn tenant(&self, provider_config: &str) -> Result<Arc<Tenant>, ReconcileError> {
        let (config, limits) = match &self.simulator {
            Some(sim) => (
                ZpaConfig::resolve(
                    &Endpoint::BaseUrl(sim.base_url()),
                    &AuthMode::Legacy,
                    sim.customer_id(),
                    ClientCredentials {
                        client_id: sim.client_id().to_owned(),
                        client_secret: sim.client_secret().clone(),
                    },
                ),
                None,
            ),
            None => {
                let config = self.manifests.provider_config(provider_config).ok_or_else(|| {
                    ReconcileError::ReferenceNotFound {
                        what: format!("ZpaProviderConfig {provider_config:?} in the manifests (or use --simulator)"),
                    }
                })?;
                let reference = &config.spec.credentials_secret_ref;
                let read = |key: &str, env: &str| {
                    std::env::var(env)
                        .ok()
                        .map(crate::secret::SecretString::new)
                        .or_else(|| self.manifests.secret_key(&reference.namespace, &reference.name, key))
                        .ok_or_else(|| ReconcileError::ReferenceNotFound {
                            what: format!(
                                "key {key:?} of Secret {}/{} in the manifests (or set {env})",
                                reference.namespace, reference.name
                            ),
                        })
                };
                let credentials = ClientCredentials {
                    client_id: read(reference.client_id_key(), "ZPA_CLIENT_ID")?.expose().to_owned(),
                    client_secret: read(reference.client_secret_key(), "ZPA_CLIENT_SECRET")?,
                };
                (zpa_config_for(&config.spec, credentials)?, rate_limits_for(&config.spec))
            }
        };
        Ok(self.tenants.tenant(provider_config, "cli", config, limits)?)
    }

    /// Signs in to `provider_config`'s tenant, up to [`CONNECT_ATTEMPTS`]
    /// times while the failure is one a retry can fix. A provider config
    /// that cannot even be built is left to the objects that name it (each
    /// reports it, as the operator would).
    pub async fn check(&self, provider_config: &str) -> Result<(), ConnectError> {
        let tenant = match self.tenant(provider_config) {
            Ok(tenant) => tenant,
            Err(ReconcileError::ReferenceNotFound { .. }) => return Ok(()),
            Err(error) => return Err(ConnectError::Config { name: provider_config.to_owned(), error }),
        };
        let url = tenant.client.api_base().as_str().to_owned();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match tenant.client.sign_in().await {
                Ok(()) => return Ok(()),
                Err(error) if error.is_retryable() && attempts < CONNECT_ATTEMPTS => {
                    tokio::time::sleep(CONNECT_PAUSE).await;
                }
                Err(error) if error.is_retryable() => {
                    return Err(ConnectError::Unreachable { url, error, attempts });
                }
                Err(error) => return Err(ConnectError::SignIn { url, error }),
            }
        }
    }
}
