//! One ZPA tenant as the reconcilers see it: its client and its caches.
//! The registry hands out one per provider config and shares one rate
//! limiter between every config that points at the same tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::references::ReferenceCache;
use super::snapshot::SnapshotCache;
use crate::crd::{AuthFlow, ZpaProviderConfigSpec};
use crate::reconcile::ReconcileError;
use crate::wire::cbi::{CbiProfile, ZpaProfile};
use crate::wire::mgmt::Microtenant;
use crate::zpa::{
    AuthMode, ClientCredentials, Cloud, Endpoint, RateLimiter, RateLimits, RequestObserver, TenantKey, ZpaClient,
    ZpaConfig, ZpaError,
};

pub struct Tenant {
    pub client: ZpaClient,
    /// CBI profiles by scope (Microtenant id, "0" for Default).
    pub profiles: SnapshotCache<CbiProfile>,
    pub microtenants: SnapshotCache<Microtenant>,
    pub zpa_profiles: ZpaProfileIndex,
    pub references: ReferenceCache,
}

impl Tenant {
    pub fn new(client: ZpaClient, max_age: Duration) -> Self {
        Self {
            client,
            profiles: SnapshotCache::new(max_age),
            microtenants: SnapshotCache::new(max_age),
            zpa_profiles: ZpaProfileIndex::default(),
            references: ReferenceCache::default(),
        }
    }
}

/// Maps CBI profile ids to the numeric ZPA-side ids (`/zpaprofiles`). ZPA
/// creates the ZPA-side profile shortly after the CBI one, so a miss reloads,
/// but not more than once per `MIN_RELOAD`.
#[derive(Debug, Default)]
pub struct ZpaProfileIndex {
    current: Mutex<Option<(Instant, HashMap<String, String>)>>,
    loading: tokio::sync::Mutex<()>,
}

impl ZpaProfileIndex {
    pub const MIN_RELOAD: Duration = Duration::from_secs(5);

    fn lookup(&self, cbi_id: &str) -> (Option<String>, bool) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.as_ref() {
            Some((at, map)) => (map.get(cbi_id).cloned(), at.elapsed() >= Self::MIN_RELOAD),
            None => (None, true),
        }
    }

    /// The ZPA-side id of a CBI profile, if ZPA has made one yet.
    pub async fn zpa_id(&self, client: &ZpaClient, cbi_id: &str) -> Result<Option<String>, ZpaError> {
        let (found, may_reload) = self.lookup(cbi_id);
        if found.is_some() || !may_reload {
            return Ok(found);
        }
        let _loading = self.loading.lock().await;
        let (found, may_reload) = self.lookup(cbi_id);
        if found.is_some() || !may_reload {
            return Ok(found);
        }
        let profiles: Vec<ZpaProfile> = client.list_zpa_profiles(true).await?;
        let map: HashMap<String, String> =
            profiles.into_iter().filter_map(|p| p.cbi_profile_id.map(|cbi| (cbi, p.id))).collect();
        let found = map.get(cbi_id).cloned();
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), map));
        Ok(found)
    }
}

/// Settings every tenant shares.
#[derive(Clone)]
pub struct TenantDefaults {
    /// Used when a provider config sets no limits; `None` turns limiting off.
    pub rate_limits: Option<RateLimits>,
    /// Snapshot lifetime: the resync interval.
    pub observe_max_age: Duration,
    pub observer: Arc<dyn RequestObserver>,
}

/// Tenants by provider config, with one limiter per real tenant.
pub struct TenantRegistry {
    defaults: TenantDefaults,
    limiters: Mutex<HashMap<TenantKey, Arc<RateLimiter>>>,
    /// Provider config name -> (version of its settings and credentials, tenant).
    tenants: Mutex<HashMap<String, (String, Arc<Tenant>)>>,
}

impl TenantRegistry {
    pub fn new(defaults: TenantDefaults) -> Self {
        Self { defaults, limiters: Mutex::new(HashMap::new()), tenants: Mutex::new(HashMap::new()) }
    }

    /// The tenant for a provider config. `version` changes whenever the
    /// config or its credentials change; a new version gets a new client
    /// (and fresh caches), but keeps the tenant's limiter.
    pub fn tenant(
        &self,
        provider_config: &str,
        version: &str,
        config: ZpaConfig,
        limits: Option<RateLimits>,
    ) -> Result<Arc<Tenant>, ZpaError> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, tenant)) = tenants.get(provider_config)
            && known == version
        {
            return Ok(tenant.clone());
        }
        let limiter = self.limiter(config.tenant_key(), limits.or(self.defaults.rate_limits));
        let client = ZpaClient::with_observer(config, limiter, self.defaults.observer.clone())?;
        let tenant = Arc::new(Tenant::new(client, self.defaults.observe_max_age));
        tenants.insert(provider_config.to_owned(), (version.to_owned(), tenant.clone()));
        Ok(tenant)
    }

    /// The tenant of a provider config as last built, whatever its version.
    pub fn existing(&self, provider_config: &str) -> Option<Arc<Tenant>> {
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.get(provider_config).map(|(_, tenant)| tenant.clone())
    }

    fn limiter(&self, key: TenantKey, limits: Option<RateLimits>) -> Arc<RateLimiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters
            .entry(key)
            .or_insert_with(|| Arc::new(limits.map_or_else(RateLimiter::unlimited, RateLimiter::new)))
            .clone()
    }
}

/// The client settings a provider config describes, given its credentials.
pub fn zpa_config_for(
    spec: &ZpaProviderConfigSpec,
    credentials: ClientCredentials,
) -> Result<ZpaConfig, ReconcileError> {
    let endpoint = match (&spec.base_url, spec.cloud) {
        (Some(url), _) => Endpoint::BaseUrl(url.clone()),
        (None, Some(cloud)) => {
            Endpoint::Cloud(cloud.as_str().parse::<Cloud>().map_err(|message| ReconcileError::InvalidSpec { message })?)
        }
        (None, None) => Endpoint::Cloud(Cloud::Production),
    };
    let auth = match spec.auth {
        AuthFlow::Legacy => AuthMode::Legacy,
        AuthFlow::Oneapi => AuthMode::OneApi {
            vanity_domain: spec.vanity_domain.clone().unwrap_or_default(),
            token_url: spec.token_url.clone(),
        },
    };
    Ok(ZpaConfig::resolve(&endpoint, &auth, &spec.customer_id, credentials))
}

/// The provider config's own rate limits, if it sets any.
pub fn rate_limits_for(spec: &ZpaProviderConfigSpec) -> Option<RateLimits> {
    spec.rate_limits.as_ref().map(|l| RateLimits {
        reads: l.reads_per_window,
        writes: l.writes_per_window,
        window: Duration::from_secs(u64::from(l.window_seconds)),
        ..RateLimits::default()
    })
}
