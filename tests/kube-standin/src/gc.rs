//! Background cleanup: garbage collection by owner references, deletion propagation,
//! namespace termination and CRD instance cleanup.
//!
//! Mirrors kube-controller-manager's garbage collector (an object whose `ownerReferences` all
//! name uids that no longer exist is deleted; `Foreground` keeps the owner with the
//! `foregroundDeletion` finalizer until its dependents are gone; `Orphan` strips the owner
//! reference from dependents before the `orphan` finalizer is removed), the namespace
//! controller (a terminating namespace's content is deleted, then its `kubernetes` spec
//! finalizer is removed) and apiextensions' CRD finalizer (instances are deleted before the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer is removed). It runs asynchronously
//! after writes, like the real controllers.

use crate::delete::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER, delete_object};
use crate::meta;
use crate::registry::StorageKey;
use crate::server::Shared;
use crate::store::Store;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

/// Waits for write notifications and runs cleanup passes until nothing changes.
pub async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = shared.gc.notified() => {}
            _ = shutdown.changed() => return,
        }
        for _ in 0..100_000 {
            let progressed = {
                let mut store = shared.lock();
                store.gc_kick = false;
                pass(&mut store)
            };
            if !progressed {
                break;
            }
        }
    }
}

/// Removes `finalizer` (from metadata, or from `spec.finalizers` for namespaces) and completes
/// the deletion when nothing else holds the object.
fn drop_finalizer(store: &mut Store, key: &StorageKey, obj: &Value, finalizer: &str, spec: bool) {
    let mut new = obj.clone();
    if spec {
        if let Some(list) = new.get_mut("spec").and_then(|s| s.get_mut("finalizers")).and_then(Value::as_array_mut) {
            list.retain(|f| f != finalizer);
        }
    } else {
        crate::crd::remove_finalizer(&mut new, finalizer);
    }
    let spec_held =
        new.get("spec").and_then(|s| s.get("finalizers")).and_then(Value::as_array).is_some_and(|a| !a.is_empty())
            && key.resource == "namespaces"
            && key.group.is_empty();
    if meta::is_deleting(&new) && meta::finalizers(&new).is_empty() && !spec_held {
        store.remove(key, new);
        if key.group == "apiextensions.k8s.io" {
            store.sync_crds();
        }
    } else {
        store.insert(key, new);
    }
}

fn delete(store: &mut Store, key: &StorageKey, obj: &Arc<Value>) {
    if let Some(rt) = store.registry.by_storage(key).cloned() {
        delete_object(store, &rt, obj, None, false);
    }
}

/// One cleanup pass; returns whether anything changed.
pub fn pass(store: &mut Store) -> bool {
    let everything = store.everything();
    let uids: HashSet<String> = everything.iter().map(|(_, o)| meta::uid(o).to_string()).collect();

    // Dependents whose owners are all gone.
    for (key, obj) in &everything {
        let owners = meta::owner_uids(obj);
        if !owners.is_empty() && !meta::is_deleting(obj) && owners.iter().all(|u| !uids.contains(u)) {
            delete(store, key, obj);
            return true;
        }
    }

    for (key, obj) in &everything {
        if !meta::is_deleting(obj) {
            continue;
        }
        let finalizers = meta::finalizers(obj);
        let uid = meta::uid(obj).to_string();
        let dependents: Vec<(StorageKey, Arc<Value>)> =
            everything.iter().filter(|(_, d)| meta::owner_uids(d).contains(&uid)).cloned().collect();

        if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
            for (dk, d) in &dependents {
                let mut nd = (**d).clone();
                if let Some(refs) = meta::metadata_mut(&mut nd).get_mut("ownerReferences").and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                }
                store.insert(dk, nd);
            }
            drop_finalizer(store, key, obj, ORPHAN_FINALIZER, false);
            return true;
        }

        if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
            if dependents.is_empty() {
                drop_finalizer(store, key, obj, FOREGROUND_FINALIZER, false);
                return true;
            }
            let mut any = false;
            for (dk, d) in &dependents {
                if !meta::is_deleting(d) {
                    delete(store, dk, d);
                    any = true;
                }
            }
            if any {
                return true;
            }
        }

        if key.group.is_empty() && key.resource == "namespaces" {
            let ns = meta::name(obj).to_string();
            let content: Vec<(StorageKey, Arc<Value>)> = everything
                .iter()
                .filter(|(k, o)| {
                    store.registry.by_storage(k).is_some_and(|rt| rt.namespaced) && meta::namespace(o) == ns
                })
                .cloned()
                .collect();
            if content.is_empty() {
                let held = obj
                    .get("spec")
                    .and_then(|s| s.get("finalizers"))
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|f| f == "kubernetes"));
                if held {
                    drop_finalizer(store, key, obj, "kubernetes", true);
                    return true;
                }
            } else {
                let mut any = false;
                for (ck, c) in &content {
                    if !meta::is_deleting(c) {
                        delete(store, ck, c);
                        any = true;
                    }
                }
                if any {
                    return true;
                }
            }
        }

        if key.group == "apiextensions.k8s.io" && finalizers.iter().any(|f| f == crate::crd::CLEANUP_FINALIZER) {
            let spec = obj.get("spec").cloned().unwrap_or(json!({}));
            let instances_key = StorageKey::new(
                spec.get("group").and_then(Value::as_str).unwrap_or(""),
                spec.get("names").and_then(|n| n.get("plural")).and_then(Value::as_str).unwrap_or(""),
            );
            let instances = store.list(&instances_key, None);
            if instances.is_empty() {
                drop_finalizer(store, key, obj, crate::crd::CLEANUP_FINALIZER, false);
                return true;
            }
            let mut any = false;
            for i in &instances {
                if !meta::is_deleting(i) {
                    delete(store, &instances_key, i);
                    any = true;
                }
            }
            if any {
                return true;
            }
        }
    }
    false
}
