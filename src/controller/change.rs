//! What makes a change of a watched object worth a reconcile: the digest the
//! watches' predicates and the cache compare.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kube::Resource;

/// Whether a change is worth a reconcile: the spec (generation), deletion,
/// finalizers, or one of our annotations. Status writes are not, so the
/// operator's own status updates never loop back.
pub fn relevant_change<K: Resource>(object: &K) -> u64 {
    let meta = object.meta();
    let mut hasher = DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    if let Some(annotations) = &meta.annotations {
        for (key, value) in annotations.iter().filter(|(k, _)| k.starts_with("zpa.operator.dev/")) {
            key.hash(&mut hasher);
            value.hash(&mut hasher);
        }
    }
    hasher.finish()
}
