//! The object store: one `resourceVersion` counter for the whole server, the stored objects,
//! a bounded history of changes and the live watch subscriptions.
//!
//! Mirrors etcd plus the apiserver's watch cache: every write takes the next revision (stored
//! as the object's `metadata.resourceVersion`), lists report the current revision, watches
//! replay the changes after a given revision from a bounded window (older revisions are
//! "compacted" and answered with 410 Gone), and a change is handed to subscribers while the
//! store is locked, so no event is ever lost between a replay and the live stream.

use crate::registry::{Registry, StorageKey};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One committed change.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub key: StorageKey,
    pub kind: ChangeType,
    pub object: Arc<Value>,
    pub old: Option<Arc<Value>>,
}

struct Watcher {
    key: StorageKey,
    tx: mpsc::UnboundedSender<Arc<Change>>,
}

type Collection = BTreeMap<(String, String), Arc<Value>>;

/// All state of the stand-in.
pub struct Store {
    rv: u64,
    pub registry: Registry,
    objects: HashMap<StorageKey, Collection>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    compacted_rv: u64,
    watchers: Vec<Watcher>,
    /// Set when a write may give the garbage collector work (deletions, owner changes).
    pub gc_kick: bool,
}

fn key_of(obj: &Value) -> (String, String) {
    (crate::meta::namespace(obj).to_string(), crate::meta::name(obj).to_string())
}

fn set_rv(obj: &mut Value, rv: u64) {
    crate::meta::metadata_mut(obj).insert("resourceVersion".into(), json!(rv.to_string()));
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        Self {
            rv: 0,
            registry: Registry::new(),
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted_rv: 0,
            watchers: Vec::new(),
            gc_kick: false,
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, key: &StorageKey, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.objects.get(key).and_then(|c| c.get(&(namespace.to_string(), name.to_string()))).cloned()
    }

    /// Objects of a collection, ordered by namespace and name; `None` = all namespaces.
    pub fn list(&self, key: &StorageKey, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let Some(c) = self.objects.get(key) else {
            return Vec::new();
        };
        c.iter().filter(|((ns, _), _)| namespace.is_none_or(|want| want == ns)).map(|(_, v)| v.clone()).collect()
    }

    /// Every stored object with its collection.
    pub fn everything(&self) -> Vec<(StorageKey, Arc<Value>)> {
        let mut out = Vec::new();
        for (k, c) in &self.objects {
            for v in c.values() {
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }

    fn commit(&mut self, change: Change) {
        if change.kind == ChangeType::Deleted || crate::meta::is_deleting(&change.object) {
            self.gc_kick = true;
        }
        let change = Arc::new(change);
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
        self.watchers.retain(|w| w.key != change.key || w.tx.send(change.clone()).is_ok());
    }

    /// Stores a new object under the next revision.
    pub fn insert(&mut self, key: &StorageKey, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        set_rv(&mut obj, self.rv);
        let obj = Arc::new(obj);
        let old = self.objects.entry(key.clone()).or_default().insert(key_of(&obj), obj.clone());
        let kind = if old.is_some() { ChangeType::Modified } else { ChangeType::Added };
        self.commit(Change { rv: self.rv, key: key.clone(), kind, object: obj.clone(), old });
        obj
    }

    /// Removes an object; `last` is its final state (it gets the deletion revision).
    pub fn remove(&mut self, key: &StorageKey, mut last: Value) -> Arc<Value> {
        self.rv += 1;
        set_rv(&mut last, self.rv);
        let last = Arc::new(last);
        let old = self.objects.get_mut(key).and_then(|c| c.remove(&key_of(&last)));
        self.commit(Change { rv: self.rv, key: key.clone(), kind: ChangeType::Deleted, object: last.clone(), old });
        last
    }

    /// Changes after `rv`, or `Err(compacted revision)` when they are no longer all known.
    pub fn changes_since(&self, key: &StorageKey, rv: u64) -> Result<Vec<Arc<Change>>, u64> {
        if rv < self.compacted_rv {
            return Err(self.compacted_rv);
        }
        Ok(self.history.iter().filter(|c| c.rv > rv && c.key == *key).cloned().collect())
    }

    pub fn subscribe(&mut self, key: &StorageKey) -> mpsc::UnboundedReceiver<Arc<Change>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.watchers.push(Watcher { key: key.clone(), tx });
        rx
    }

    /// Rebuilds the served custom resources from the stored CRDs.
    pub fn sync_crds(&mut self) {
        let key = StorageKey::new("apiextensions.k8s.io", "customresourcedefinitions");
        let crds = self.list(&key, None);
        self.registry.custom = crds.iter().flat_map(|crd| crate::crd::resource_types(crd)).collect();
    }
}
