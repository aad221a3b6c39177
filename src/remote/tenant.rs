//! One ZPA tenant as the reconcilers see it: its client and its caches.
//! The registry hands out one per provider config and shares one rate
//! limiter between every config that points at the same tenant.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::packed::Packed;
use super::references::ReferenceCache;
use super::snapshot::SnapshotCache;
use crate::crd::{AuthFlow, ZpaProviderConfigSpec};
use crate::reconcile::{ReconcileError, scope};
use crate::wire::mgmt::Me;
use crate::zpa::{
    AuthMode, ClientCredentials, Cloud, Endpoint, RateLimiter, RateLimits, RequestObserver, Scope, TenantKey,
    TlsSettings, ZpaClient, ZpaConfig, ZpaError,
};

pub struct Tenant {
    pub client: ZpaClient,
    /// One snapshot cache per kind of remote object, by its type (see
    /// [`Tenant::snapshots`]), so a new kind needs no field here.
    snapshots: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// How long a snapshot serves: the resync interval.
    max_age: Duration,
    pub zpa_profiles: ZpaProfileIndex,
    pub references: ReferenceCache,
    /// The scope the API key works in (`GET /me`), read once: a new Secret
    /// or provider config makes a new tenant.
    key_scope: tokio::sync::OnceCell<Scope>,
}

impl Tenant {
    pub fn new(client: ZpaClient, max_age: Duration) -> Self {
        Self {
            client,
            snapshots: Mutex::new(HashMap::new()),
            max_age,
            zpa_profiles: ZpaProfileIndex::default(),
            references: ReferenceCache::default(),
            key_scope: tokio::sync::OnceCell::new(),
        }
    }

    /// The scope the API key works in: [`Scope::Default`] for a key of the
    /// Default Microtenant (which may name any scope), else the Microtenant
    /// the key is bound to. Asks `/me` once (the provider config's sign-in
    /// check usually has, see [`Tenant::remember_session`]).
    pub async fn key_scope(&self) -> Result<&Scope, ZpaError> {
        self.key_scope
            .get_or_try_init(|| async { Ok(scope::key_scope(self.client.me().await?.microtenant_id.as_deref())) })
            .await
    }

    /// What a `/me` answer says about the key, so that reconciles need not ask again.
    pub fn remember_session(&self, me: &Me) {
        let _ = self.key_scope.set(scope::key_scope(me.microtenant_id.as_deref()));
    }

    /// The snapshots of the remote objects of type `R`, by scope (what
    /// `RemoteKind::scope_key` names: the Microtenant for CBI profiles).
    pub fn snapshots<R: Send + Sync + 'static>(&self) -> Arc<SnapshotCache<Packed<R>>> {
        let mut caches = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        let entry =
            caches.entry(TypeId::of::<R>()).or_insert_with(|| Arc::new(SnapshotCache::<Packed<R>>::new(self.max_age)));
        // The entry under R's type id always holds R's cache; were it not,
        // a cache of its own would cost lists, not correctness.
        Arc::clone(entry).downcast().unwrap_or_else(|_| Arc::new(SnapshotCache::new(self.max_age)))
    }
}

/// Maps CBI profile ids to the numeric ZPA-side ids (`/zpaprofiles`), one
/// map per scope: the list is read with the scope's `scopeId`, as every CBI
/// call is (an unscoped read returns every scope's profiles, and a key bound
/// to a Microtenant may not make one at all). ZPA creates the ZPA-side profile
/// shortly after the CBI one, so a miss reloads that scope's list, but not
/// more than once per `MIN_RELOAD`. A profile just created is looked up by
/// name instead ([`Self::zpa_id_of_new`]): one small search, so that its
/// status is written once, complete, right after the create.
#[derive(Debug, Default)]
pub struct ZpaProfileIndex {
    /// By scope key: when the list was read, and its links.
    current: Mutex<HashMap<String, (Instant, Links)>>,
    loading: tokio::sync::Mutex<()>,
}

/// CBI profile id -> ZPA-side id.
type Links = HashMap<String, String>;

impl ZpaProfileIndex {
    pub const MIN_RELOAD: Duration = Duration::from_secs(5);

    /// The ZPA-side id of the CBI profile `cbi_id` called `name`, created a
    /// moment ago: the index, else one search by name (a whole list would
    /// cost pages per create; the index is reloaded for the profiles it
    /// misses later). `None` when ZPA has not made it yet.
    pub async fn zpa_id_of_new(
        &self,
        client: &ZpaClient,
        scope: &Scope,
        cbi_id: &str,
        name: &str,
    ) -> Result<Option<String>, ZpaError> {
        if let (Some(found), _) = self.lookup(scope, cbi_id) {
            return Ok(Some(found));
        }
        let named = client.find_zpa_profiles_named(name, scope).await?;
        Ok(named.into_iter().find(|p| p.isolation_profile_id.as_deref() == Some(cbi_id)).map(|p| p.id))
    }

    fn lookup(&self, scope: &Scope, cbi_id: &str) -> (Option<String>, bool) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.get(scope.key()) {
            Some((at, map)) => (map.get(cbi_id).cloned(), at.elapsed() >= Self::MIN_RELOAD),
            None => (None, true),
        }
    }

    /// The ZPA-side id of a CBI profile of `scope`, if ZPA has made one yet.
    pub async fn zpa_id(&self, client: &ZpaClient, scope: &Scope, cbi_id: &str) -> Result<Option<String>, ZpaError> {
        let (found, may_reload) = self.lookup(scope, cbi_id);
        if found.is_some() || !may_reload {
            return Ok(found);
        }
        let _loading = self.loading.lock().await;
        let (found, may_reload) = self.lookup(scope, cbi_id);
        if found.is_some() || !may_reload {
            return Ok(found);
        }
        let profiles = client.list_zpa_profile_links_in(true, scope).await?;
        let map: Links = profiles.into_iter().filter_map(|p| p.cbi_profile_id.map(|cbi| (cbi, p.id))).collect();
        let found = map.get(cbi_id).cloned();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.insert(scope.key().to_owned(), (Instant::now(), map));
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
    /// Provider config name -> when its tenant was last confirmed against the
    /// provider config and Secret, and how often it was invalidated.
    confirmations: Mutex<HashMap<String, Confirmation>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Confirmation {
    at: Option<Instant>,
    epoch: u64,
}

impl TenantRegistry {
    /// How long a confirmed tenant is handed out without reading its provider
    /// config and Secret again, when no watch event said either changed: a
    /// bound on staleness should a watch event ever be missed.
    pub const CONFIRMED_FOR: Duration = Duration::from_secs(60);

    pub fn new(defaults: TenantDefaults) -> Self {
        Self {
            defaults,
            limiters: Mutex::new(HashMap::new()),
            tenants: Mutex::new(HashMap::new()),
            confirmations: Mutex::new(HashMap::new()),
        }
    }

    fn confirmations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Confirmation>> {
        self.confirmations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenant of a provider config when it was confirmed recently and
    /// nothing invalidated it since: reconciles skip the two Kubernetes reads
    /// (provider config, Secret) that building it takes.
    pub fn current(&self, provider_config: &str) -> Option<Arc<Tenant>> {
        let confirmed = self.confirmations().get(provider_config).and_then(|c| c.at)?;
        if confirmed.elapsed() >= Self::CONFIRMED_FOR {
            return None;
        }
        self.existing(provider_config)
    }

    /// Read before building a tenant; pass to [`confirm`](Self::confirm) after.
    pub fn epoch(&self, provider_config: &str) -> u64 {
        self.confirmations().get(provider_config).map_or(0, |c| c.epoch)
    }

    /// Marks the tenant of a provider config as current, unless it was
    /// invalidated since `epoch` was read (the reads may predate the change).
    pub fn confirm(&self, provider_config: &str, epoch: u64) {
        let mut confirmations = self.confirmations();
        let entry = confirmations.entry(provider_config.to_owned()).or_default();
        if entry.epoch == epoch {
            entry.at = Some(Instant::now());
        }
    }

    /// The provider config or its Secret changed: the next reconcile reads them again.
    pub fn invalidate(&self, provider_config: &str) {
        let mut confirmations = self.confirmations();
        let entry = confirmations.entry(provider_config.to_owned()).or_default();
        entry.at = None;
        entry.epoch += 1;
    }

    /// Every provider config may have changed (a watch restarted).
    pub fn invalidate_all(&self) {
        for entry in self.confirmations().values_mut() {
            entry.at = None;
            entry.epoch += 1;
        }
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
    let mut config = ZpaConfig::resolve(&endpoint, &auth, &spec.customer_id, credentials);
    config.tls = tls_settings_for(spec, &endpoint)?;
    Ok(config)
}

/// The TLS settings of a provider config. The CRD refuses skipping
/// verification for a named cloud; this refuses it again should an object
/// have bypassed validation.
fn tls_settings_for(spec: &ZpaProviderConfigSpec, endpoint: &Endpoint) -> Result<TlsSettings, ReconcileError> {
    let Some(tls) = &spec.tls else {
        return Ok(TlsSettings::default());
    };
    if tls.insecure_skip_tls_verify && matches!(endpoint, Endpoint::Cloud(_)) {
        return Err(ReconcileError::InvalidSpec {
            message: "tls.insecureSkipTLSVerify is allowed only with baseUrl: certificates of a named ZPA cloud \
                      are always verified"
                .to_owned(),
        });
    }
    Ok(TlsSettings { ca_bundle: tls.ca_bundle.clone(), insecure_skip_verify: tls.insecure_skip_tls_verify })
}

/// Whether a provider config switches certificate verification off.
pub fn skips_tls_verification(spec: &ZpaProviderConfigSpec) -> bool {
    spec.tls.as_ref().is_some_and(|t| t.insecure_skip_tls_verify)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretString;
    use crate::zpa::NoopObserver;

    fn registry() -> TenantRegistry {
        TenantRegistry::new(TenantDefaults {
            rate_limits: None,
            observe_max_age: Duration::from_secs(60),
            observer: Arc::new(NoopObserver),
        })
    }

    fn config() -> ZpaConfig {
        let credentials = ClientCredentials::secret("id", SecretString::new("secret"));
        ZpaConfig::resolve(&Endpoint::BaseUrl("http://127.0.0.1:9/".into()), &AuthMode::Legacy, "1", credentials)
    }

    /// ZPA's limits are per organisation: two provider configs for one
    /// customer, one legacy and one OneAPI, spend one budget.
    #[tokio::test]
    async fn provider_configs_of_one_customer_share_one_limiter() {
        let registry = registry();
        let credentials = ClientCredentials::secret("id", SecretString::new("secret"));
        let oneapi = AuthMode::OneApi { vanity_domain: "acme".into(), token_url: None };
        let via_oneapi =
            ZpaConfig::resolve(&Endpoint::BaseUrl("http://127.0.0.1:9/".into()), &oneapi, "1", credentials.clone());
        registry.tenant("legacy", "1", config(), None).unwrap();
        registry.tenant("oneapi", "1", via_oneapi, None).unwrap();
        assert_eq!(registry.limiters.lock().unwrap().len(), 1, "one budget for customer 1");
        let other =
            ZpaConfig::resolve(&Endpoint::BaseUrl("http://127.0.0.1:9/".into()), &AuthMode::Legacy, "2", credentials);
        registry.tenant("other", "1", other, None).unwrap();
        assert_eq!(registry.limiters.lock().unwrap().len(), 2, "another customer, another budget");
    }

    #[test]
    fn each_remote_type_has_one_snapshot_cache() {
        let registry = registry();
        let tenant = registry.tenant("default", "1/1", config(), None).unwrap();
        let profiles = tenant.snapshots::<crate::wire::cbi::CbiProfile>();
        assert!(Arc::ptr_eq(&profiles, &tenant.snapshots::<crate::wire::cbi::CbiProfile>()), "shared");
        let microtenants = tenant.snapshots::<crate::wire::mgmt::MgmtMicrotenant>();
        assert!(!std::ptr::eq(Arc::as_ptr(&profiles).cast::<u8>(), Arc::as_ptr(&microtenants).cast::<u8>()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_confirmed_tenant_is_current_until_invalidated_or_old() {
        let registry = registry();
        assert!(registry.current("default").is_none(), "never built");
        let epoch = registry.epoch("default");
        let tenant = registry.tenant("default", "1/1", config(), None).unwrap();
        assert!(registry.current("default").is_none(), "built but not confirmed");
        registry.confirm("default", epoch);
        assert!(Arc::ptr_eq(&registry.current("default").unwrap(), &tenant));

        registry.invalidate("default");
        assert!(registry.current("default").is_none(), "invalidated");
        // A build whose reads started before the invalidation does not confirm.
        registry.confirm("default", epoch);
        assert!(registry.current("default").is_none());
        registry.confirm("default", registry.epoch("default"));
        assert!(registry.current("default").is_some());

        tokio::time::advance(TenantRegistry::CONFIRMED_FOR).await;
        assert!(registry.current("default").is_none(), "confirmations expire");
        registry.confirm("default", registry.epoch("default"));
        registry.invalidate_all();
        assert!(registry.current("default").is_none());
    }
}
