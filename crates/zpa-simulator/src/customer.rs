//! One ZPA tenant: its catalog (regions, certificates, banners, auth domains)
//! and its objects (CBI profiles in every scope, Microtenants).

use std::collections::HashMap;

use super::common::DEFAULT_SCOPE;
use super::microtenant_store::MicrotenantStore;
use super::profile_store::ProfileStore;
use zpa_wire::cbi::{CbiBanner, CbiCertificate, CbiRegion};

#[derive(Debug)]
pub struct Customer {
    pub id: String,
    pub name: String,
    /// `authDomains` of the tenant.
    pub auth_domains: Vec<String>,
    /// Any domain ending in this (e.g. `.example.com`) also belongs to the tenant.
    pub open_domain_suffix: Option<String>,
    /// The CBI tenant (`cbiTenantId`/`isolationTenantId`).
    pub cbi_tenant_id: String,
    /// The tenant slug in isolation URLs.
    pub tenant_slug: String,
    /// The admin user id written as `modifiedBy`.
    pub admin_id: String,
    pub regions: Vec<CbiRegion>,
    /// Bumped on every region list call, to vary the list order.
    pub region_list_calls: usize,
    pub certificates: Vec<CbiCertificate>,
    pub banners: Vec<CbiBanner>,
    pub profiles: ProfileStore,
    pub microtenants: MicrotenantStore,
    region_names: HashMap<String, String>,
    next_mgmt_id: u64,
}

impl Customer {
    /// `id_num` is the numeric customer id; mgmt ids are derived from it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id_num: u64,
        name: String,
        auth_domains: Vec<String>,
        open_domain_suffix: Option<String>,
        cbi_tenant_id: String,
        regions: Vec<CbiRegion>,
        certificates: Vec<CbiCertificate>,
        banners: Vec<CbiBanner>,
    ) -> Self {
        let region_names = regions.iter().map(|r| (r.id.clone(), r.name.clone())).collect();
        let tenant_slug = cbi_tenant_id.replace('-', "").chars().take(12).collect();
        Self {
            id: id_num.to_string(),
            name,
            auth_domains,
            open_domain_suffix,
            cbi_tenant_id,
            tenant_slug,
            admin_id: id_num.wrapping_add(124_809).to_string(),
            regions,
            region_list_calls: 0,
            certificates,
            banners,
            profiles: ProfileStore::default(),
            microtenants: MicrotenantStore::default(),
            region_names,
            next_mgmt_id: id_num.wrapping_add(693_132),
        }
    }

    /// A fresh mgmtconfig id (a big decimal string).
    pub fn next_mgmt_id(&mut self) -> String {
        let id = self.next_mgmt_id;
        self.next_mgmt_id = id.wrapping_add(1);
        id.to_string()
    }

    pub fn region_name(&self, id: &str) -> Option<&str> {
        self.region_names.get(id).map(String::as_str)
    }

    pub fn certificate(&self, id: &str) -> Option<&CbiCertificate> {
        self.certificates.iter().find(|c| c.id == id)
    }

    pub fn banner(&self, id: &str) -> Option<&CbiBanner> {
        self.banners.iter().find(|b| b.id == id)
    }

    pub fn default_banner(&self) -> Option<&CbiBanner> {
        self.banners.iter().find(|b| b.is_default == Some(true)).or(self.banners.first())
    }

    pub fn default_certificate_ids(&self) -> Vec<String> {
        self.certificates.iter().filter(|c| c.is_default == Some(true)).map(|c| c.id.clone()).collect()
    }

    /// Whether a Microtenant may use `domain` as an AuthDomain criterion.
    pub fn domain_belongs(&self, domain: &str) -> bool {
        let domain = domain.trim().to_ascii_lowercase();
        if self.auth_domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
            return true;
        }
        self.open_domain_suffix.as_deref().is_some_and(|suffix| {
            let suffix = suffix.to_ascii_lowercase();
            domain.len() > suffix.len() && domain.ends_with(&suffix)
        })
    }

    /// Whether `scope` names the Default scope or an existing Microtenant.
    pub fn scope_exists(&self, scope: &str) -> bool {
        scope == DEFAULT_SCOPE || self.microtenants.get(scope).is_some()
    }

    /// The isolation URL of a CBI profile (`cbiUrl` == `isolationUrl`).
    pub fn isolation_url(&self, profile_id: &str) -> String {
        format!("https://redirect.isolation.zscaler.com/tenant/{}/profile/{profile_id}/zpa/render", self.tenant_slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> Customer {
        Customer::new(
            72_057_594_037_927_936,
            "zscaler".into(),
            vec!["example.org".into()],
            Some(".example.com".into()),
            "0f9a1c2e-1111-4222-8333-444455556666".into(),
            vec![],
            vec![],
            vec![],
        )
    }

    #[test]
    fn domains_of_the_tenant() {
        let c = customer();
        assert!(c.domain_belongs("Example.ORG"));
        assert!(c.domain_belongs("mt-17.example.com"));
        assert!(!c.domain_belongs("example.com"), "the suffix alone is not a subdomain");
        assert!(!c.domain_belongs("evil-example.com"));
        assert!(!c.domain_belongs("other.net"));
    }

    #[test]
    fn mgmt_ids_are_big_and_fresh() {
        let mut c = customer();
        let a: u64 = c.next_mgmt_id().parse().unwrap();
        let b: u64 = c.next_mgmt_id().parse().unwrap();
        assert!(a > 1 << 53);
        assert_eq!(b, a + 1);
        assert_eq!(c.tenant_slug, "0f9a1c2e1111");
    }
}
