//! Statuses this process wrote that its watch has not shown yet.
//!
//! A reconcile's own writes wake the object again: the metadata patch that
//! records the remote id is a change the controller reacts to, and the status
//! written right after it reaches the cache an event later. A reconcile that
//! runs in between reads the status from before the write, computes its
//! conditions against it (new transition times, a new `lastSyncTime`) and
//! would write it all again. So each status write is remembered, by uid, until
//! the watch shows a version at least as new; a reconcile of an older cached
//! copy starts from the status it wrote instead.
//!
//! Resource versions are compared as numbers when both are (they are etcd
//! revisions on every API server this operator runs against); when one is
//! not, the cached copy is used as it is, which costs at most a write.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::Resource;
use serde_json::Value;

#[derive(Debug, Default)]
pub struct WrittenStatuses {
    /// uid -> (resourceVersion after our write, the status written).
    by_uid: Mutex<HashMap<String, (u64, Value)>>,
}

fn version<R: Resource>(object: &R) -> Option<u64> {
    object.meta().resource_version.as_deref()?.parse().ok()
}

impl WrittenStatuses {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Value)>> {
        self.by_uid.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a status this process wrote; `written` is the object the
    /// API server answered the write with.
    pub fn record<R: Resource>(&self, written: &R, status: Value) {
        if let (Some(uid), Some(version)) = (written.meta().uid.clone(), version(written)) {
            self.entries().insert(uid, (version, status));
        }
    }

    /// The status this process wrote, when `cached` is older than that write.
    pub fn newer_than<R: Resource>(&self, cached: &R) -> Option<Value> {
        let uid = cached.meta().uid.as_deref()?;
        let cached_version = version(cached)?;
        let entries = self.entries();
        let (written_version, status) = entries.get(uid)?;
        (cached_version < *written_version).then(|| status.clone())
    }

    /// The watch showed `object`: forget a write it already holds (or a
    /// deleted object's).
    pub fn seen<R: Resource>(&self, object: &R, deleted: bool) {
        let Some(uid) = object.meta().uid.as_deref() else { return };
        let mut entries = self.entries();
        let caught_up = match (entries.get(uid), version(object)) {
            (None, _) => false,
            (Some(_), _) if deleted => true,
            (Some((written, _)), Some(seen)) => seen >= *written,
            (Some(_), None) => true,
        };
        if caught_up {
            entries.remove(uid);
        }
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;
    use serde_json::json;

    use super::*;

    fn at(uid: &str, version: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                uid: Some(uid.into()),
                resource_version: Some(version.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn an_older_cached_copy_starts_from_the_status_written() {
        let written = WrittenStatuses::default();
        written.record(&at("u", "120"), json!({"id": "7"}));
        assert_eq!(written.newer_than(&at("u", "118")), Some(json!({"id": "7"})), "the cache is behind");
        assert_eq!(written.newer_than(&at("u", "120")), None, "the cache holds the write");
        assert_eq!(written.newer_than(&at("other", "1")), None);
        assert_eq!(written.newer_than(&at("u", "not-a-number")), None, "opaque versions: the cached copy");
    }

    #[test]
    fn a_write_is_forgotten_once_the_watch_shows_it() {
        let written = WrittenStatuses::default();
        written.record(&at("u", "120"), json!({}));
        written.record(&at("v", "130"), json!({}));
        written.seen(&at("u", "119"), false);
        assert_eq!(written.len(), 2, "an older event keeps it");
        written.seen(&at("u", "121"), false);
        written.seen(&at("v", "125"), true);
        assert!(written.is_empty(), "seen, or deleted");
    }
}
