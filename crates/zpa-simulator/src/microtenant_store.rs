//! The Microtenants of one customer, indexed by id, creation order, name and
//! domain, with the domains deleted ones still hold. The rules that decide what
//! may be stored are in `microtenants.rs`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::Value;

use super::common::{DEFAULT_SCOPE, Object};

#[derive(Debug, Clone)]
pub struct StoredMicrotenant {
    pub seq: u64,
    /// The GET form, without `scopeOrder` (computed when read).
    pub body: Object,
    /// The generated admin, without its password.
    pub user: Option<Object>,
}

impl StoredMicrotenant {
    pub fn id(&self) -> &str {
        self.body.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.body.get("name").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn enabled(&self) -> bool {
        self.body.get("enabled").and_then(Value::as_bool).unwrap_or(false)
    }

    pub(crate) fn domains(&self) -> Vec<String> {
        domains_of(&self.body)
    }
}

pub(crate) fn domains_of(body: &Object) -> Vec<String> {
    body.get("criteriaAttributeValues")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Microtenants of one customer, indexed by id, creation order, name and domain.
#[derive(Debug, Default)]
pub struct MicrotenantStore {
    by_id: HashMap<String, StoredMicrotenant>,
    order: BTreeMap<u64, String>,
    names: HashMap<String, String>,
    domains: HashMap<String, String>,
    /// Domains of deleted Microtenants not released yet (the `domainHold` fault).
    held: HashMap<String, Instant>,
    next_seq: u64,
}

impl MicrotenantStore {
    pub fn get(&self, id: &str) -> Option<&StoredMicrotenant> {
        self.by_id.get(id)
    }

    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(StoredMicrotenant::name)
    }

    /// Every Microtenant, Default first, then oldest first.
    pub fn all(&self) -> impl Iterator<Item = &StoredMicrotenant> {
        self.order.values().filter_map(|id| self.by_id.get(id))
    }

    /// Microtenants other than Default.
    pub fn custom_count(&self) -> usize {
        self.by_id.len().saturating_sub(usize::from(self.by_id.contains_key(DEFAULT_SCOPE)))
    }

    pub fn id_by_name(&self, name: &str) -> Option<&str> {
        self.names.get(&name.to_lowercase()).map(String::as_str)
    }

    pub fn owner_of_domain(&self, domain: &str) -> Option<&str> {
        self.domains.get(&domain.to_lowercase()).map(String::as_str)
    }

    /// Whether a deleted Microtenant still holds `domain`.
    pub fn domain_held(&self, domain: &str, now: Instant) -> bool {
        self.held.get(&domain.to_lowercase()).is_some_and(|until| now < *until)
    }

    /// `scopeOrder`: custom Microtenants 1..n in creation order, Default last.
    pub fn scope_order(&self, id: &str) -> Option<String> {
        let stored = self.by_id.get(id)?;
        if id == DEFAULT_SCOPE {
            return Some((self.custom_count() + 1).to_string());
        }
        let before = self.order.range(..stored.seq).filter(|(_, other)| other.as_str() != DEFAULT_SCOPE).count();
        Some((before + 1).to_string())
    }

    pub(crate) fn index(&mut self, stored: &StoredMicrotenant) {
        let id = stored.id().to_owned();
        self.names.insert(stored.name().to_lowercase(), id.clone());
        for domain in stored.domains() {
            self.domains.insert(domain.to_lowercase(), id.clone());
        }
    }

    pub(crate) fn unindex(&mut self, stored: &StoredMicrotenant) {
        let id = stored.id();
        let name = stored.name().to_lowercase();
        if self.names.get(&name).is_some_and(|owner| owner == id) {
            self.names.remove(&name);
        }
        for domain in stored.domains() {
            let domain = domain.to_lowercase();
            if self.domains.get(&domain).is_some_and(|owner| owner == id) {
                self.domains.remove(&domain);
            }
        }
    }

    pub(crate) fn insert(&mut self, body: Object, user: Option<Object>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let stored = StoredMicrotenant { seq, body, user };
        self.index(&stored);
        let id = stored.id().to_owned();
        self.order.insert(seq, id.clone());
        self.by_id.insert(id, stored);
    }

    pub(crate) fn replace_body(&mut self, id: &str, body: Object) -> Option<&StoredMicrotenant> {
        let old = self.by_id.get(id)?.clone();
        self.unindex(&old);
        let updated = StoredMicrotenant { body, ..old };
        self.index(&updated);
        self.by_id.insert(id.to_owned(), updated);
        self.by_id.get(id)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<StoredMicrotenant> {
        let stored = self.by_id.remove(id)?;
        self.unindex(&stored);
        self.order.remove(&stored.seq);
        Some(stored)
    }

    /// Keeps the domains of a removed Microtenant taken until `until` (the
    /// `domainHold` fault), forgetting holds that have run out.
    pub(crate) fn hold_domains(&mut self, removed: &StoredMicrotenant, now: Instant, until: Instant) {
        self.held.retain(|_, held_until| now < *held_until);
        for domain in removed.domains() {
            self.held.insert(domain.to_lowercase(), until);
        }
    }

    /// Releases every held domain at once, as the hold running out would.
    #[cfg(test)]
    pub(crate) fn release_held_domains(&mut self) {
        self.held.clear();
    }
}
