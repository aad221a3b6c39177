//! The CBI profiles of one customer, stored as the JSON objects GET returns and
//! indexed by id, creation order, scope and name. The rules that decide what may be
//! stored are in `profiles.rs`.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::common::Object;

#[derive(Debug, Clone)]
pub struct StoredProfile {
    pub seq: u64,
    /// Microtenant id, `"0"` for the Default scope.
    pub scope: String,
    /// The GET form.
    pub body: Object,
    /// The ZPA-side isolation profile id (numeric string).
    pub zpa_id: String,
    pub zpa_creation_time: String,
    pub zpa_modified_time: Option<String>,
    /// Set through `POST /__sim/.../in-use`: DELETE is refused.
    pub in_use: bool,
}

impl StoredProfile {
    pub fn id(&self) -> &str {
        self.body.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.body.get("name").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn is_default(&self) -> bool {
        self.body.get("isDefault").and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn enabled(&self) -> bool {
        self.body.get("enabled").and_then(Value::as_bool).unwrap_or(true)
    }
}

/// Profiles of one customer, indexed by id, creation order, scope and name.
/// The name index is for lookups only, not a rule: the tenant accepts two
/// profiles with one name, and both are found.
#[derive(Debug, Default)]
pub struct ProfileStore {
    by_id: HashMap<String, StoredProfile>,
    order: BTreeMap<u64, String>,
    by_scope: BTreeMap<(String, u64), String>,
    /// By lowercase name (ZPA's `EQ` ignores case), then creation order.
    by_name: BTreeMap<(String, u64), String>,
    next_seq: u64,
}

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

impl ProfileStore {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn get(&self, id: &str) -> Option<&StoredProfile> {
        self.by_id.get(id)
    }

    /// Marks a profile as referenced by a policy rule (DELETE refused); false when absent.
    pub fn set_in_use(&mut self, id: &str, in_use: bool) -> bool {
        self.by_id.get_mut(id).map(|p| p.in_use = in_use).is_some()
    }

    /// A profile of `scope`; profiles of other scopes are invisible.
    pub fn get_in_scope(&self, id: &str, scope: &str) -> Option<&StoredProfile> {
        self.by_id.get(id).filter(|p| p.scope == scope)
    }

    /// Profiles of one scope, oldest first.
    pub fn in_scope<'a>(&'a self, scope: &str) -> impl Iterator<Item = &'a StoredProfile> + 'a {
        self.by_scope
            .range((scope.to_owned(), 0)..=(scope.to_owned(), u64::MAX))
            .filter_map(|(_, id)| self.by_id.get(id))
    }

    pub fn count_in_scope(&self, scope: &str) -> usize {
        self.by_scope.range((scope.to_owned(), 0)..=(scope.to_owned(), u64::MAX)).count()
    }

    /// Every profile, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &StoredProfile> {
        self.order.values().filter_map(|id| self.by_id.get(id))
    }

    /// Profiles called `name` (case-insensitive), of every scope, oldest first.
    pub fn named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a StoredProfile> + 'a {
        let key = name_key(name);
        self.by_name.range((key.clone(), 0)..=(key, u64::MAX)).filter_map(|(_, id)| self.by_id.get(id))
    }

    /// The id of another profile called `name` (case-insensitive) in `scope`.
    pub fn other_named(&self, scope: &str, name: &str, except: &str) -> Option<&str> {
        self.named(name).find(|p| p.id() != except && p.scope == scope).map(StoredProfile::id)
    }

    pub(crate) fn insert(&mut self, mut profile: StoredProfile) {
        let seq = self.next_seq;
        self.next_seq += 1;
        profile.seq = seq;
        let id = profile.id().to_owned();
        self.order.insert(seq, id.clone());
        self.by_scope.insert((profile.scope.clone(), seq), id.clone());
        self.by_name.insert((name_key(profile.name()), seq), id.clone());
        self.by_id.insert(id, profile);
    }

    pub(crate) fn set_body(
        &mut self,
        id: &str,
        body: Object,
        zpa_modified_time: Option<String>,
    ) -> Option<&StoredProfile> {
        let profile = self.by_id.get_mut(id)?;
        self.by_name.remove(&(name_key(profile.name()), profile.seq));
        profile.body = body;
        self.by_name.insert((name_key(profile.name()), profile.seq), id.to_owned());
        if zpa_modified_time.is_some() {
            profile.zpa_modified_time = zpa_modified_time;
        }
        Some(profile)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<StoredProfile> {
        let profile = self.by_id.remove(id)?;
        self.order.remove(&profile.seq);
        self.by_scope.remove(&(profile.scope.clone(), profile.seq));
        self.by_name.remove(&(name_key(profile.name()), profile.seq));
        Some(profile)
    }

    /// Makes `id` the only default profile of its scope.
    pub(crate) fn clear_other_defaults(&mut self, scope: &str, keep: &str) {
        let others: Vec<String> =
            self.in_scope(scope).filter(|p| p.is_default() && p.id() != keep).map(|p| p.id().to_owned()).collect();
        for id in others {
            if let Some(p) = self.by_id.get_mut(&id) {
                p.body.insert("isDefault".into(), Value::Bool(false));
            }
        }
    }
}
