//! What the caches keep of an object: the reflector's copy of every watched
//! managed object ([`Cached`]), and `written.rs`'s copies of our own writes.
//!
//! Thousands of objects stay cached for the operator's lifetime, while a
//! reconcile reads one. So the reflector keeps each as a [`Cached`]: its name
//! (what the store and the controller's queue key on), the few fields the
//! watches that map other objects onto it read, and the object itself as
//! compact JSON, LZ4-compressed against the first object of its kind (the
//! snapshots' `remote::packed::Dictionary`). A reconcile expands its object again. Before
//! it is packed, an object is trimmed ([`trim`]) of:
//! - its managed fields and kubectl's copy of the last applied manifest,
//!   never read here (the last applied manifest alone would double it);
//! - `status.atProvider`, ZPA's view of the object and the largest part of
//!   its status. The operator writes it but never reads it back, except to
//!   tell whether the status changed, so a digest stands in for it
//!   ([`ManagedStatus::at_provider_digest`]). A status written without a new
//!   observation keeps the one the object has, read back from the API server
//!   at that moment (`managed::write_status`).
//!
//! BENCHMARKS.md ("Footprint") has what each part costs.

use std::borrow::Cow;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::marker::PhantomData;

use kube::Resource;
use kube::api::ObjectMeta;
use kube::runtime::watcher;
use serde::de::{Deserialize, Deserializer};
use serde_json::Value;

use super::change::relevant_change;
use super::kind::ControllerKind;
use crate::crd::ManagedStatus;
use crate::reconcile::ReconcileError;
use crate::remote::packed::Compressed;

/// A managed object as the reflector cache keeps it.
pub struct Cached<K> {
    /// Its name and namespace only: what the store and `ObjectRef`s key on.
    meta: ObjectMeta,
    /// Its uid and resource version, to tell which of our writes it holds (`written.rs`).
    uid: Option<Box<str>>,
    version: Option<Box<str>>,
    /// What makes a change worth a reconcile (`change.rs`).
    change: u64,
    /// [`ManagedStatus::at_provider_digest`], which the packed JSON leaves out.
    at_provider: Option<u64>,
    provider_config: Box<str>,
    scoped_to: Option<Box<str>>,
    secrets: Box<[Box<str>]>,
    /// The trimmed object, or why it could not be packed (an operator bug,
    /// reported by the reconcile that expands it).
    object: Result<Compressed, Box<str>>,
    kind: PhantomData<fn() -> K>,
}

impl<K: ControllerKind> Cached<K> {
    /// Packs a trimmed object.
    pub fn new(object: &K) -> Self {
        Self {
            meta: ObjectMeta {
                name: object.meta().name.clone(),
                namespace: object.meta().namespace.clone(),
                ..ObjectMeta::default()
            },
            uid: object.meta().uid.as_deref().map(Into::into),
            version: object.meta().resource_version.as_deref().map(Into::into),
            change: relevant_change(object),
            at_provider: object.managed_status().and_then(|s| s.at_provider_digest),
            provider_config: object.managed().provider_config_name().into(),
            scoped_to: object.scoped_to().map(Into::into),
            secrets: object.secrets_read().into_iter().map(Into::into).collect(),
            object: K::cache_dictionary().pack(object).map_err(Into::into),
            kind: PhantomData,
        }
    }

    /// The object again.
    pub fn expand(&self) -> Result<K, ReconcileError> {
        let cannot = |detail: &str| ReconcileError::Internal {
            message: format!(
                "the cached {} {} cannot be read: {detail}",
                K::kind(&()),
                self.meta.name.as_deref().unwrap_or_default()
            ),
        };
        let mut object: K = match &self.object {
            Ok(packed) => K::cache_dictionary().unpack(packed).map_err(|e| cannot(&e))?,
            Err(error) => return Err(cannot(error)),
        };
        if let Some(status) = object.status_mut() {
            status.as_mut().at_provider_digest = self.at_provider;
        }
        Ok(object)
    }

    pub fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }

    pub fn resource_version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub fn change(&self) -> u64 {
        self.change
    }

    pub fn provider_config(&self) -> &str {
        &self.provider_config
    }

    /// The Microtenant (in its namespace) it is scoped to by reference.
    pub fn scoped_to(&self) -> Option<&str> {
        self.scoped_to.as_deref()
    }

    /// Whether it reads this Secret itself (beyond its provider config's).
    pub fn reads_secret(&self, namespace: &str, name: &str) -> bool {
        self.meta.namespace.as_deref() == Some(namespace) && self.secrets.iter().any(|s| &**s == name)
    }
}

/// A watch event of a managed kind, as its cache keeps it.
pub fn cached_event<K: ControllerKind>(event: watcher::Event<K>) -> watcher::Event<Cached<K>> {
    match event {
        watcher::Event::Apply(object) => watcher::Event::Apply(Cached::new(&object)),
        watcher::Event::Delete(object) => watcher::Event::Delete(Cached::new(&object)),
        watcher::Event::InitApply(object) => watcher::Event::InitApply(Cached::new(&object)),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

impl<K> Clone for Cached<K> {
    fn clone(&self) -> Self {
        Self {
            meta: self.meta.clone(),
            uid: self.uid.clone(),
            version: self.version.clone(),
            change: self.change,
            at_provider: self.at_provider,
            provider_config: self.provider_config.clone(),
            scoped_to: self.scoped_to.clone(),
            secrets: self.secrets.clone(),
            object: self.object.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> fmt::Debug for Cached<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("namespace", &self.meta.namespace)
            .field("name", &self.meta.name)
            .field("version", &self.version)
            .field("object", &self.object)
            .finish()
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Cached<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// kube's `Controller` asks its object type to be deserializable; the
/// watches decode `K` and cache it through [`cached_event`].
impl<'de, K: ControllerKind> Deserialize<'de> for Cached<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut object = K::deserialize(deserializer)?;
        trim(&mut object);
        Ok(Self::new(&object))
    }
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Trims a managed object as its cache keeps it.
pub fn trim<K: ControllerKind>(object: &mut K) {
    trim_metadata(object);
    if let Some(observed) = object.take_at_provider() {
        let digest = digest(&observed);
        if let Some(status) = object.status_mut() {
            status.as_mut().at_provider_digest = Some(digest);
        }
    }
}

/// Drops what no cached object needs from its metadata. Dropped, not
/// cleared: a cleared Vec keeps its buffer.
pub fn trim_metadata<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
    if let Some(annotations) = object.meta_mut().annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// The digest of `status.atProvider`, as the cached copy recorded it, or
/// from the field when this copy still holds it.
pub fn at_provider_digest<K: ControllerKind>(object: &K) -> Option<u64> {
    match object.at_provider_json() {
        Some(observed) => Some(digest(&observed)),
        None => object.managed_status().and_then(|s: &ManagedStatus| s.at_provider_digest),
    }
}

/// A digest of a JSON value that, like `Value`'s equality, ignores the order
/// of object keys; `null` members count as absent (a status is written
/// without them). Only ever compared within this process.
pub fn digest(value: &Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    feed(value, &mut hasher);
    hasher.finish()
}

fn feed(value: &Value, hasher: &mut DefaultHasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(b) => (1u8, b).hash(hasher),
        Value::Number(n) => (2u8, n.to_string()).hash(hasher),
        Value::String(s) => (3u8, s).hash(hasher),
        Value::Array(items) => {
            (4u8, items.len()).hash(hasher);
            items.iter().for_each(|item| feed(item, hasher));
        }
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members.iter().filter(|(_, v)| !v.is_null()).collect();
            members.sort_unstable_by_key(|(key, _)| *key);
            (5u8, members.len()).hash(hasher);
            for (key, member) in members {
                key.hash(hasher);
                feed(member, hasher);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::crd::IsolationProfile;

    #[test]
    fn the_digest_ignores_key_order_and_null_members_and_sees_every_value() {
        let a = json!({"name": "web", "regions": [{"id": "1"}, {"id": "2"}], "banner": null, "n": 1});
        let reordered = json!({"n": 1, "regions": [{"id": "1"}, {"id": "2"}], "name": "web"});
        assert_eq!(digest(&a), digest(&reordered));
        for changed in [
            json!({"name": "web", "regions": [{"id": "2"}, {"id": "1"}], "n": 1}),
            json!({"name": "web", "regions": [{"id": "1"}], "n": 1}),
            json!({"name": "web", "regions": [{"id": "1"}, {"id": "2"}], "n": 2}),
            json!({"name": "web", "regions": [{"id": "1"}, {"id": "2"}], "n": "1"}),
            json!({"name": "web", "regions": [{"id": "1"}, {"id": "2"}], "n": 1, "banner": {}}),
        ] {
            assert_ne!(digest(&a), digest(&changed), "{changed}");
        }
    }

    #[test]
    fn a_trimmed_profile_keeps_the_digest_of_its_observation_and_nothing_else_of_it() {
        let observed = json!({"name": "web", "description": "d", "regions": [{"id": "1", "name": "Frankfurt"}]});
        let mut profile: IsolationProfile = serde_json::from_value(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
            "metadata": {"name": "web", "namespace": "ns", "managedFields": [{"manager": "kubectl"}],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                         "zpa.operator.dev/external-id": "7"}},
            "spec": {"regions": ["Frankfurt", "London"]},
            "status": {"id": "7", "atProvider": observed}
        }))
        .unwrap();
        let untrimmed = at_provider_digest(&profile);
        trim(&mut profile);
        assert_eq!(untrimmed, Some(digest(&observed)));
        assert_eq!(at_provider_digest(&profile), untrimmed, "the same digest before and after");
        let status = profile.status.as_ref().unwrap();
        assert!(status.at_provider.is_none());
        assert_eq!(serde_json::to_value(status).unwrap(), json!({"id": "7"}), "the digest is never serialized");
        assert!(profile.metadata.managed_fields.is_none());
        assert_eq!(profile.metadata.annotations.unwrap().keys().collect::<Vec<_>>(), ["zpa.operator.dev/external-id"]);
    }

    #[test]
    fn a_cached_object_expands_to_the_trimmed_object_and_keys_what_the_watches_read() {
        let mut profile: IsolationProfile = serde_json::from_value(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
            "metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "resourceVersion": "42", "generation": 3,
                         "finalizers": ["zpa.operator.dev/finalizer"], "managedFields": [{"manager": "kubectl"}]},
            "spec": {"regions": ["Frankfurt", "London"], "providerConfigRef": {"name": "tenant-a"},
                     "microtenantRef": {"name": "team-a"},
                     "debugMode": {"allowed": true, "filePasswordSecretRef": {"name": "debug", "key": "password"}}},
            "status": {"id": "7", "conditions": [{"type": "Ready", "status": "True", "reason": "Available",
                       "message": "", "lastTransitionTime": "2026-11-30T04:48:05Z"}],
                       "atProvider": {"name": "web", "regions": [{"id": "1", "name": "Frankfurt"}]}}
        }))
        .unwrap();
        trim(&mut profile);
        let cached = Cached::new(&profile);
        let expanded = cached.expand().unwrap();
        assert_eq!(
            (&expanded.metadata, &expanded.spec, &expanded.status),
            (&profile.metadata, &profile.spec, &profile.status),
            "everything the trimmed object held, the digest too"
        );
        assert!(expanded.status.as_ref().unwrap().managed.at_provider_digest.is_some());
        assert_eq!((cached.meta().name.as_deref(), cached.meta().namespace.as_deref()), (Some("web"), Some("ns")));
        assert!(cached.meta().uid.is_none() && cached.meta().resource_version.is_none(), "not in keys");
        assert_eq!((cached.uid(), cached.resource_version()), (Some("u-1"), Some("42")));
        assert_eq!(cached.change(), relevant_change(&profile));
        assert_eq!((cached.provider_config(), cached.scoped_to()), ("tenant-a", Some("team-a")));
        assert!(cached.reads_secret("ns", "debug"));
        assert!(!cached.reads_secret("other", "debug") && !cached.reads_secret("ns", "other"));
    }
}
