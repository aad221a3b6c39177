//! What every new customer starts with: CBI regions, certificates (the
//! Zscaler root plus a custom one), banners ("Default" plus another), the
//! default isolation profile with its ZPA-side profile, the Default
//! Microtenant and the auth domains.

use serde_json::json;

use super::customer::Customer;
use super::state::{Credential, World, epoch_secs};
use super::{microtenants, profiles};
use zpa_wire::cbi::{CbiBanner, CbiCertificate, CbiRegion};
use zpa_wire::secret::SecretString;

/// The built-in root certificate every tenant has (on every profile, always).
pub use zpa_wire::cbi::{ROOT_CERTIFICATE_ID, ROOT_CERTIFICATE_NAME};

/// Any subdomain of this belongs to every seeded customer (so a benchmark can
/// give each of 500 Microtenants its own domain).
pub const OPEN_DOMAIN_SUFFIX: &str = ".example.com";

/// CBI regions (global, so the same ids for every customer).
pub const REGIONS: &[(&str, &str)] = &[
    ("2d5b9c1e-7f3a-4e61-9b0d-4a8f1c2e3d01", "Frankfurt"),
    ("5e8a0b2c-1d4f-4a7b-8c3e-9f0a1b2c3d02", "Washington"),
    ("8b1c2d3e-4f5a-4b6c-9d7e-0f1a2b3c4d03", "Singapore"),
    ("0c2d3e4f-5a6b-4c7d-8e9f-1a2b3c4d5e04", "London"),
    ("3d4e5f6a-7b8c-4d9e-af0b-2c3d4e5f6a05", "Tokyo"),
    ("6e5f4a3b-2c1d-4e0f-9a8b-7c6d5e4f3a06", "Sydney"),
    ("9f6a5b4c-3d2e-4f1a-8b9c-0d1e2f3a4b07", "Mumbai"),
    ("1a7b6c5d-4e3f-4a2b-9c0d-e1f2a3b4c508", "Portland Oregon"),
];

pub fn default_auth_domains() -> Vec<String> {
    ["example.com", "example.org", "example.net", "dummytest.com"].map(str::to_owned).to_vec()
}

/// A customer to add (from the config or `POST /__sim/customers`).
#[derive(Debug, Clone)]
pub struct CustomerSpec {
    pub customer_id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub auth_domains: Vec<String>,
    pub open_domain_suffix: Option<String>,
}

/// Adds a seeded customer and its credentials. The error is a reason for a 4xx.
pub fn add_customer(world: &mut World, spec: &CustomerSpec) -> Result<(), AddCustomerError> {
    let id_num: u64 = spec.customer_id.trim().parse().map_err(|_| {
        AddCustomerError::Invalid(format!("customerId must be a decimal number, got '{}'", spec.customer_id))
    })?;
    if spec.client_id.is_empty() || spec.client_secret.is_empty() {
        return Err(AddCustomerError::Invalid("clientId and clientSecret are required".to_owned()));
    }
    if world.customers.contains_key(&id_num.to_string()) {
        return Err(AddCustomerError::Exists(format!("customer {id_num} already exists")));
    }
    if world.credentials.contains_key(&spec.client_id) {
        return Err(AddCustomerError::Exists(format!("client id '{}' is already in use", spec.client_id)));
    }
    let zpa_id = world.next_zpa_profile_id();
    let customer = build(id_num, &spec.name, &spec.auth_domains, spec.open_domain_suffix.as_deref(), zpa_id);
    world.credentials.insert(
        spec.client_id.clone(),
        Credential {
            secret: spec.client_secret.clone(),
            public_key: None,
            customer_id: customer.id.clone(),
            microtenant_id: None,
        },
    );
    world.customers.insert(customer.id.clone(), customer);
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddCustomerError {
    Invalid(String),
    Exists(String),
}

/// A seeded customer outside any world (for unit tests).
#[cfg(test)]
pub fn customer(id_num: u64, name: &str, auth_domains: &[String], open_domain_suffix: Option<&str>) -> Customer {
    build(id_num, name, auth_domains, open_domain_suffix, (super::state::FIRST_ZPA_PROFILE_ID - 1).to_string())
}

fn build(
    id_num: u64,
    name: &str,
    auth_domains: &[String],
    open_domain_suffix: Option<&str>,
    default_zpa_id: String,
) -> Customer {
    let regions =
        REGIONS.iter().map(|(id, name)| CbiRegion { id: (*id).to_owned(), name: (*name).to_owned() }).collect();
    let certificates = vec![
        CbiCertificate {
            id: ROOT_CERTIFICATE_ID.to_owned(),
            name: ROOT_CERTIFICATE_NAME.to_owned(),
            pem: None,
            is_default: Some(true),
            extra: Default::default(),
        },
        CbiCertificate {
            id: uuid::Uuid::new_v4().to_string(),
            name: "Corporate Root CA".to_owned(),
            pem: Some(CUSTOM_PEM.to_owned()),
            is_default: Some(false),
            extra: Default::default(),
        },
    ];
    let banners = vec![
        banner("Default", true, "#0076BE", "Zscaler Cloud Browser Isolation"),
        banner("Corporate Banner", false, "#22313F", "You are browsing in isolation"),
    ];
    let mut customer = Customer::new(
        id_num,
        name.to_owned(),
        auth_domains.to_vec(),
        open_domain_suffix.map(str::to_owned),
        uuid::Uuid::new_v4().to_string(),
        regions,
        certificates,
        banners,
    );
    microtenants::seed_default(&mut customer);
    let default_regions: Vec<String> = REGIONS.iter().take(2).map(|(id, _)| (*id).to_owned()).collect();
    let profile_name = format!("Default Isolation Profile {id_num} zscaler");
    profiles::seed_default(&mut customer, &profile_name, &default_regions, default_zpa_id, epoch_secs());
    customer
}

fn banner(name: &str, is_default: bool, color: &str, title: &str) -> CbiBanner {
    let mut extra = serde_json::Map::new();
    extra.insert("creationTime".into(), json!(epoch_secs().to_string()));
    CbiBanner {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        primary_color: Some(color.to_owned()),
        text_color: Some("#FFFFFF".to_owned()),
        notification_title: Some(title.to_owned()),
        notification_text: Some("This website is rendered in an isolated browser.".to_owned()),
        logo: Some(TINY_PNG.to_owned()),
        banner: Some(true),
        persist: Some(false),
        is_default: Some(is_default),
        extra,
    }
}

const TINY_PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

const CUSTOM_PEM: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBszCCAVmgAwIBAgIUSimulatorCorporateRootCA0wCgYIKoZIzj0EAwIwHjEc\n\
MBoGA1UEAwwTQ29ycG9yYXRlIFJvb3QgQ0EwHhcNMjQwMTAxMDAwMDAwWhcNMzQw\n\
MTAxMDAwMDAwWjAeMRwwGgYDVQQDDBNDb3Jwb3JhdGUgUm9vdCBDQTBZMBMGByqG\n\
-----END CERTIFICATE-----\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::DEFAULT_SCOPE;

    #[test]
    fn a_seeded_customer_has_its_catalog_and_defaults() {
        let c = customer(72_057_594_037_927_936, "zscaler", &default_auth_domains(), Some(OPEN_DOMAIN_SUFFIX));
        assert!(c.regions.len() >= 4);
        assert_eq!(c.certificate(ROOT_CERTIFICATE_ID).unwrap().is_default, Some(true));
        assert!(c.certificates.iter().any(|cert| cert.pem.is_some()));
        assert_eq!(c.default_banner().unwrap().name, "Default");
        let default = c.profiles.in_scope(DEFAULT_SCOPE).next().unwrap();
        assert!(default.is_default());
        assert_eq!(default.name(), "Default Isolation Profile 72057594037927936 zscaler");
        assert_eq!(c.microtenants.get(DEFAULT_SCOPE).unwrap().name(), "Default");
    }

    #[test]
    fn customers_need_numeric_ids_and_unique_client_ids() {
        let mut world = World::new();
        let spec = CustomerSpec {
            customer_id: "216196257331281920".into(),
            name: "other".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            auth_domains: default_auth_domains(),
            open_domain_suffix: None,
        };
        add_customer(&mut world, &spec).unwrap();
        assert!(matches!(add_customer(&mut world, &spec), Err(AddCustomerError::Exists(_))));
        let other = CustomerSpec { customer_id: "x1".into(), client_id: "d".into(), ..spec.clone() };
        assert!(matches!(add_customer(&mut world, &other), Err(AddCustomerError::Invalid(_))));
        let reused = CustomerSpec { customer_id: "5".into(), ..spec };
        assert!(matches!(add_customer(&mut world, &reused), Err(AddCustomerError::Exists(_))));
    }
}
