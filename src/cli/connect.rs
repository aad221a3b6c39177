//! How `plan`, `sync` and `export` reach a tenant: the `ZpaProviderConfig`
//! of the manifests with its Secret (or `ZPA_CLIENT_ID` and
//! `ZPA_CLIENT_SECRET` or `ZPA_PRIVATE_KEY`), or with `--simulator` an
//! embedded ZPA simulator.
//!
//! Before any object is looked at, each tenant is signed in to with a few
//! quick tries ([`Connector::check`]): an unreachable tenant fails at once
//! with the URL that was tried and a hint, instead of every object waiting
//! out the client's retries.

use std::sync::Arc;
use std::time::Duration;

use super::manifests::Manifests;
use crate::crd::CredentialsSecretRef;
use crate::reconcile::ReconcileError;
use crate::remote::credentials::{CredentialSource, credentials_for};
use crate::remote::tenant::{rate_limits_for, zpa_config_for};
use crate::remote::{Tenant, TenantDefaults, TenantRegistry};
use crate::secret::SecretString;
use crate::simulator::{self, RunningSimulator, SimulatorConfig};
use crate::zpa::{AuthMode, ClientCredentials, Endpoint, NoopObserver, RateLimits, ZpaConfig, ZpaError};

/// Sign-in attempts before a tenant counts as unreachable.
pub const CONNECT_ATTEMPTS: u32 = 3;
/// Pause between two of them.
const CONNECT_PAUSE: Duration = Duration::from_millis(500);

/// The environment variables that stand in for the credentials Secret's keys.
pub const CLIENT_ID_ENV: &str = "ZPA_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "ZPA_CLIENT_SECRET";
pub const PRIVATE_KEY_ENV: &str = "ZPA_PRIVATE_KEY";

/// The keys of a provider config's credentials Secret as the CLI reads them:
/// `ZPA_CLIENT_ID` before the Secret's client id; `ZPA_CLIENT_SECRET` and
/// `ZPA_PRIVATE_KEY` (PEM or JWK text), when either is set, instead of the
/// Secret's secret and private key (both set is as ambiguous as a Secret
/// holding both); the Secret among the manifests otherwise.
struct ManifestKeys<'a> {
    manifests: &'a Manifests,
    reference: &'a CredentialsSecretRef,
    from_env: bool,
}

impl<'a> ManifestKeys<'a> {
    fn new(manifests: &'a Manifests, reference: &'a CredentialsSecretRef) -> Self {
        let from_env = [CLIENT_SECRET_ENV, PRIVATE_KEY_ENV].iter().any(|var| env_value(var).is_some());
        Self { manifests, reference, from_env }
    }

    fn env_of(&self, key: &str) -> &'static str {
        if key == self.reference.client_id_key() {
            CLIENT_ID_ENV
        } else if key == self.reference.private_key_key() {
            PRIVATE_KEY_ENV
        } else {
            CLIENT_SECRET_ENV
        }
    }
}

/// A variable's value, unless unset or blank.
fn env_value(var: &str) -> Option<SecretString> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty()).map(SecretString::new)
}

impl CredentialSource for ManifestKeys<'_> {
    fn value(&self, key: &str) -> Option<SecretString> {
        let from_secret = || self.manifests.secret_key(&self.reference.namespace, &self.reference.name, key);
        if key == self.reference.client_id_key() {
            return env_value(CLIENT_ID_ENV).or_else(from_secret);
        }
        match self.from_env {
            true => env_value(self.env_of(key)),
            false => from_secret(),
        }
    }

    fn describe(&self, key: &str) -> String {
        format!(
            "key {key:?} of Secret {}/{} in the manifests (or set {})",
            self.reference.namespace,
            self.reference.name,
            self.env_of(key)
        )
    }
}

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
         ZPA_CLIENT_ID and ZPA_CLIENT_SECRET or ZPA_PRIVATE_KEY); to try the manifests without a tenant, add \
         --simulator"
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
                    ClientCredentials::secret(sim.client_id(), sim.client_secret().clone()),
                ),
                None,
            ),
            None => {
                let config = self.manifests.provider_config(provider_config).ok_or_else(|| {
                    ReconcileError::ReferenceNotFound {
                        what: format!("ZpaProviderConfig {provider_config:?} in the manifests (or use --simulator)"),
                    }
                })?;
                let source = ManifestKeys::new(self.manifests, &config.spec.credentials_secret_ref);
                let credentials = credentials_for(&config.spec, &source)?;
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
