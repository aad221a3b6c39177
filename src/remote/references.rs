//! Turning the region, certificate and banner names of a spec into ids.
//! The lists are cached per tenant and refreshed when a name is not found
//! (at most once per `MIN_REFRESH`, so a typo does not hammer the API).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::crd::IsolationProfileSpec;
use crate::reconcile::ReconcileError;
use crate::reconcile::isolation_profile::ResolvedReferences;
use crate::secret::SecretString;
use crate::wire::cbi::{CbiBanner, CbiCertificate, CbiRegion};
use crate::zpa::{ZpaClient, ZpaError};

const MIN_REFRESH: Duration = Duration::from_secs(10);

/// Something a spec may name by display name or by id.
pub trait Nameable {
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    /// Whether to use it when the spec names none (the tenant default).
    fn is_default(&self) -> bool {
        false
    }
}

/// `id` and `name` of a CBI list item, and its `isDefault` where it has one.
macro_rules! nameable {
    ($type:ty $(, default: $default:ident)?) => {
        impl Nameable for $type {
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            $(fn is_default(&self) -> bool {
                self.$default == Some(true)
            })?
        }
    };
}

nameable!(CbiRegion);
nameable!(CbiCertificate, default: is_default);
nameable!(CbiBanner, default: is_default);

#[derive(Debug)]
struct Listing<T> {
    items: Vec<T>,
    fetched_at: Instant,
}

/// One cached list (regions, certificates or banners).
#[derive(Debug)]
pub struct NamedList<T> {
    what: &'static str,
    current: Mutex<Option<Listing<T>>>,
    loading: tokio::sync::Mutex<()>,
}

impl<T: Nameable + Clone> NamedList<T> {
    pub fn new(what: &'static str) -> Self {
        Self { what, current: Mutex::new(None), loading: tokio::sync::Mutex::new(()) }
    }

    /// The display name of an id, from the cached list (no request).
    pub fn cached_name(&self, id: &str) -> Option<String> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref()?.items.iter().find(|i| i.id() == id).map(|i| i.name().to_owned())
    }

    fn lookup(&self, wanted: &[String]) -> Option<(Vec<Result<String, String>>, Instant)> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let listing = current.as_ref()?;
        let found = wanted.iter().map(|w| find(&listing.items, w).ok_or_else(|| w.clone())).collect();
        Some((found, listing.fetched_at))
    }

    /// The ids of `wanted` (names or ids), refreshing the list once on a miss.
    pub async fn resolve<F, Fut>(&self, wanted: &[String], load: F) -> Result<Vec<String>, ReconcileError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ZpaError>>,
    {
        if let Some((found, fetched_at)) = self.lookup(wanted) {
            let complete = found.iter().all(Result::is_ok);
            if complete || fetched_at.elapsed() < MIN_REFRESH {
                return self.finish(found);
            }
        }
        self.refresh(load).await?;
        let found = self.lookup(wanted).map(|(found, _)| found).unwrap_or_default();
        self.finish(found)
    }

    /// The tenant's default entries (to send when the spec names none).
    pub async fn defaults<F, Fut>(&self, load: F) -> Result<Vec<String>, ReconcileError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ZpaError>>,
    {
        if self.current.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            self.refresh(load).await?;
        }
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        Ok(current.iter().flat_map(|l| l.items.iter()).filter(|i| i.is_default()).map(|i| i.id().to_owned()).collect())
    }

    async fn refresh<F, Fut>(&self, load: F) -> Result<(), ReconcileError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Vec<T>, ZpaError>>,
    {
        let _loading = self.loading.lock().await;
        let recently = {
            let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            current.as_ref().is_some_and(|l| l.fetched_at.elapsed() < Duration::from_millis(200))
        };
        if !recently {
            let items = load().await?;
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Listing { items, fetched_at: Instant::now() });
        }
        Ok(())
    }

    fn finish(&self, found: Vec<Result<String, String>>) -> Result<Vec<String>, ReconcileError> {
        let missing: Vec<String> = found.iter().filter_map(|r| r.as_ref().err().cloned()).collect();
        if missing.is_empty() {
            return Ok(found.into_iter().filter_map(Result::ok).collect());
        }
        let known: Vec<String> = {
            let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            current.iter().flat_map(|l| l.items.iter()).map(|i| i.name().to_owned()).collect()
        };
        Err(ReconcileError::ReferenceNotFound {
            what: format!(
                "{} {} (known: {})",
                self.what,
                missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ),
        })
    }
}

/// An id matches exactly; a name matches ignoring case.
fn find<T: Nameable>(items: &[T], wanted: &str) -> Option<String> {
    items
        .iter()
        .find(|i| i.id() == wanted)
        .or_else(|| items.iter().find(|i| i.name().to_lowercase() == wanted.to_lowercase()))
        .map(|i| i.id().to_owned())
}

/// The three lists a profile's references resolve against.
#[derive(Debug)]
pub struct ReferenceCache {
    pub regions: NamedList<CbiRegion>,
    pub certificates: NamedList<CbiCertificate>,
    pub banners: NamedList<CbiBanner>,
}

impl Default for ReferenceCache {
    fn default() -> Self {
        Self {
            regions: NamedList::new("CBI region"),
            certificates: NamedList::new("CBI certificate"),
            banners: NamedList::new("CBI banner"),
        }
    }
}

impl ReferenceCache {
    pub async fn region_ids(&self, client: &ZpaClient, wanted: &[String]) -> Result<Vec<String>, ReconcileError> {
        self.regions.resolve(wanted, || client.list_regions()).await
    }

    pub async fn certificate_ids(&self, client: &ZpaClient, wanted: &[String]) -> Result<Vec<String>, ReconcileError> {
        self.certificates.resolve(wanted, || client.list_certificates()).await
    }

    pub async fn banner_id(&self, client: &ZpaClient, wanted: &str) -> Result<String, ReconcileError> {
        let ids = self.banners.resolve(&[wanted.to_owned()], || client.list_banners()).await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| ReconcileError::ReferenceNotFound { what: format!("CBI banner {wanted:?}") })
    }

    pub async fn default_banner_id(&self, client: &ZpaClient) -> Result<Option<String>, ReconcileError> {
        Ok(self.banners.defaults(|| client.list_banners()).await?.into_iter().next())
    }

    pub async fn default_certificate_ids(&self, client: &ZpaClient) -> Result<Vec<String>, ReconcileError> {
        self.certificates.defaults(|| client.list_certificates()).await
    }

    /// Fills in names a view lacks (a create answer carries ids only), from the cached lists.
    pub fn name_view(&self, observation: &mut crate::crd::IsolationProfileObservation) {
        let fill = |named: &mut crate::crd::NamedId, name: Option<String>| {
            if named.name.is_none() {
                named.name = name;
            }
        };
        for region in &mut observation.regions {
            fill(region, self.regions.cached_name(&region.id));
        }
        observation.regions.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        for certificate in &mut observation.certificates {
            fill(certificate, self.certificates.cached_name(&certificate.id));
        }
        if let Some(banner) = &mut observation.banner {
            fill(banner, self.banners.cached_name(&banner.id));
        }
    }

    /// An IsolationProfile's region, certificate and banner names as ids.
    pub async fn resolve_profile(
        &self,
        client: &ZpaClient,
        spec: &IsolationProfileSpec,
        debug_file_password: Option<SecretString>,
    ) -> Result<ResolvedReferences, ReconcileError> {
        let region_ids = self.region_ids(client, &spec.regions).await?;
        let certificate_ids = match &spec.certificates {
            Some(wanted) => Some(self.certificate_ids(client, wanted).await?),
            None => None,
        };
        let banner_id = match &spec.banner {
            Some(wanted) => Some(self.banner_id(client, wanted).await?),
            None => None,
        };
        Ok(ResolvedReferences { region_ids, certificate_ids, banner_id, debug_file_password })
    }

    /// ZPA needs a banner and certificates on create; when the spec leaves
    /// them unmanaged, the tenant's defaults are sent (and not managed after).
    /// `None` when the spec names both.
    pub async fn with_create_defaults(
        &self,
        client: &ZpaClient,
        mut refs: ResolvedReferences,
    ) -> Result<Option<ResolvedReferences>, ReconcileError> {
        if refs.banner_id.is_some() && refs.certificate_ids.is_some() {
            return Ok(None);
        }
        if refs.banner_id.is_none() {
            refs.banner_id = self.default_banner_id(client).await?;
        }
        if refs.certificate_ids.is_none() {
            let defaults = self.default_certificate_ids(client).await?;
            refs.certificate_ids = (!defaults.is_empty()).then_some(defaults);
        }
        Ok(Some(refs))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn region(id: &str, name: &str) -> CbiRegion {
        CbiRegion { id: id.into(), name: name.into() }
    }

    #[tokio::test(start_paused = true)]
    async fn names_and_ids_resolve_and_a_miss_refreshes_once() {
        let list = NamedList::new("CBI region");
        let calls = AtomicUsize::new(0);
        let regions = Mutex::new(vec![region("r1", "Frankfurt"), region("r2", "London")]);
        let load = || {
            calls.fetch_add(1, Ordering::SeqCst);
            let items = regions.lock().unwrap().clone();
            async move { Ok(items) }
        };
        let ids = list.resolve(&["frankfurt".into(), "r2".into()], load).await.unwrap();
        assert_eq!(ids, vec!["r1", "r2"]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A new region appears in ZPA: the miss refreshes once the list is old enough.
        regions.lock().unwrap().push(region("r3", "Tokyo"));
        let early = list.resolve(&["Tokyo".into()], load).await.unwrap_err();
        assert!(early.to_string().contains("\"Tokyo\" (known: Frankfurt, London)"), "{early}");
        tokio::time::advance(MIN_REFRESH).await;
        assert_eq!(list.resolve(&["Tokyo".into()], load).await.unwrap(), vec!["r3"]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let missing = list.resolve(&["Mars".into()], load).await.unwrap_err();
        assert_eq!(missing.reason(), crate::reconcile::Reason::ReferenceNotFound);
    }
}
