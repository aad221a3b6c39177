//! The newest copy of each object this process wrote, until its watch shows
//! a copy at least as new.
//!
//! A reconcile's own writes wake the object again, and the cache learns of
//! them one watch event at a time: a reconcile that runs after the
//! create-pending marker reached the cache but before the recorded id did
//! sees a create in flight and looks for it by name; one that runs after the
//! id but before the status compares against the status from before the
//! write, gets new transition times and a new `lastSyncTime`, and writes it
//! all again. So the API server's answer to each of our writes is kept, by
//! uid, until the watch shows a version at least as new, and a reconcile of
//! an older cached copy works from that answer instead. Entries live from a
//! write to its watch event: a handful, whatever the number of objects.
//!
//! Resource versions are compared as numbers when both are (they are etcd
//! revisions on every API server this operator runs against); when one is
//! not, the cached copy is used as it is, which costs at most a write.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::Resource;

type Copy = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct Written {
    /// uid -> (resourceVersion of our write, the object the API server answered).
    by_uid: Mutex<HashMap<String, (u64, Copy)>>,
}

/// A resource version as a number, when it is one (an etcd revision).
fn version(resource_version: Option<&str>) -> Option<u64> {
    resource_version?.parse().ok()
}

impl Written {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Copy)>> {
        self.by_uid.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the API server's answer to a write of ours (the caller trims
    /// it as the cache trims what it holds).
    pub fn record<R: Resource + Send + Sync + 'static>(&self, answer: R) {
        if let (Some(uid), Some(version)) =
            (answer.meta().uid.clone(), version(answer.meta().resource_version.as_deref()))
        {
            let mut entries = self.entries();
            let newer = entries.get(&uid).is_none_or(|(kept, _)| *kept < version);
            if newer {
                entries.insert(uid, (version, Arc::new(answer)));
            }
        }
    }

    /// Our last written copy of `cached`, when the cache has not shown it yet.
    pub fn newer_than<R: Resource + Send + Sync + 'static>(&self, cached: &R) -> Option<Arc<R>> {
        let uid = cached.meta().uid.as_deref()?;
        let cached_version = version(cached.meta().resource_version.as_deref())?;
        let entries = self.entries();
        let (written_version, copy) = entries.get(uid)?;
        if cached_version >= *written_version {
            return None;
        }
        Arc::clone(copy).downcast::<R>().ok()
    }

    /// The watch showed the object `uid` at `resource_version`: forget a
    /// write it already holds (or a deleted object's).
    pub fn seen(&self, uid: Option<&str>, resource_version: Option<&str>, deleted: bool) {
        let Some(uid) = uid else { return };
        let mut entries = self.entries();
        let caught_up = match (entries.get(uid), version(resource_version)) {
            (None, _) => false,
            (Some(_), _) if deleted => true,
            (Some((written, _)), Some(seen)) => seen >= *written,
            (Some(_), None) => true,
        };
        if caught_up {
            entries.remove(uid);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::crd::{IsolationProfile, Microtenant};

    fn at(uid: &str, version: &str, note: &str) -> IsolationProfile {
        serde_json::from_value(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
            "metadata": {"name": "p", "namespace": "ns", "uid": uid, "resourceVersion": version,
                         "annotations": {"note": note}},
            "spec": {"regions": ["a", "b"]}
        }))
        .unwrap()
    }

    fn note(object: &IsolationProfile) -> &str {
        object.metadata.annotations.as_ref().and_then(|a| a.get("note")).map_or("", String::as_str)
    }

    #[test]
    fn an_older_cached_copy_gives_way_to_the_copy_written() {
        let written = Written::default();
        written.record(at("u", "120", "ours"));
        written.record(at("u", "110", "older answer"));
        let newer = written.newer_than(&at("u", "118", "cached"));
        assert_eq!(newer.as_deref().map(note), Some("ours"), "the cache is behind");
        assert!(written.newer_than(&at("u", "120", "cached")).is_none(), "the cache holds the write");
        assert!(written.newer_than(&at("other", "1", "cached")).is_none());
        assert!(written.newer_than(&at("u", "not-a-number", "cached")).is_none(), "opaque: the cached copy");
        let other_type = written.newer_than(
            &serde_json::from_value::<Microtenant>(json!({
                "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
                "metadata": {"name": "m", "namespace": "ns", "uid": "u", "resourceVersion": "1"},
                "spec": {"name": "m"}
            }))
            .unwrap(),
        );
        assert!(other_type.is_none(), "a copy is only ever given back as its own type");
    }

    #[test]
    fn a_write_is_forgotten_once_the_watch_shows_it() {
        let written = Written::default();
        written.record(at("u", "120", ""));
        written.record(at("v", "130", ""));
        written.seen(Some("u"), Some("119"), false);
        assert_eq!(written.entries().len(), 2, "an older event keeps it");
        written.seen(Some("u"), Some("121"), false);
        written.seen(Some("v"), Some("125"), true);
        assert!(written.entries().is_empty(), "seen, or deleted");
    }
}
