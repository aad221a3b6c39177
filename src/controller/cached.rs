//! What the caches keep of an object: the reflector's copy of every watched
//! object, and `written.rs`'s copies of our own writes.
//!
//! Thousands of objects stay cached for the operator's lifetime, while a
//! reconcile reads one. A cached object keeps all but:
//! - its managed fields and kubectl's copy of the last applied manifest,
//!   never read here (the last applied manifest alone would double what the
//!   cache holds per object);
//! - `status.atProvider`, ZPA's view of the object and the largest part of
//!   its status. The operator writes it but never reads it back, except to
//!   tell whether the status changed, so a digest stands in for it
//!   ([`ManagedStatus::at_provider_digest`]). A status written without a new
//!   observation keeps the one the object has, read back from the API server
//!   at that moment (`managed::write_status`). BENCHMARKS.md ("Footprint")
//!   has what each part costs.

use std::hash::{DefaultHasher, Hash, Hasher};

use kube::Resource;
use serde_json::Value;

use super::managed::ControllerKind;
use crate::crd::ManagedStatus;

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
}
