//! List-based observation: one list call serves every reconcile of a scope
//! until the snapshot is older than `max_age` (the resync interval).
//!
//! ZPA allows 20 reads per 10 s. One GET per object per resync stops scaling
//! at about a hundred objects; a list of up to 500 per page does not. Our own
//! writes are applied to the snapshot as they succeed, so it stays as fresh
//! as what we know; drift made by others is seen at the next refresh.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::zpa::ZpaError;

/// Objects of one scope, by id.
#[derive(Debug)]
struct Snapshot<T> {
    fetched_at: Instant,
    by_id: HashMap<String, T>,
}

#[derive(Debug)]
struct Slot<T> {
    /// Held while loading, so concurrent reconciles share one list call.
    loading: tokio::sync::Mutex<()>,
    current: RwLock<Option<Snapshot<T>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self { loading: tokio::sync::Mutex::new(()), current: RwLock::new(None) }
    }
}

/// Snapshots per scope (a Microtenant id for profiles; one scope for Microtenants).
#[derive(Debug)]
pub struct SnapshotCache<T> {
    max_age: Duration,
    slots: Mutex<HashMap<String, Arc<Slot<T>>>>,
}

impl<T: Clone> SnapshotCache<T> {
    pub fn new(max_age: Duration) -> Self {
        Self { max_age, slots: Mutex::new(HashMap::new()) }
    }

    fn slot(&self, scope: &str) -> Arc<Slot<T>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(scope.to_owned()).or_default().clone()
    }

    /// Runs `read` on a snapshot no older than `max_age`, loading one with
    /// `load` (a list call returning `(id, object)` pairs) when needed.
    pub async fn with_fresh<R, F, Fut>(
        &self,
        scope: &str,
        load: F,
        read: impl FnOnce(&HashMap<String, T>) -> R,
    ) -> Result<R, ZpaError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, T)>, ZpaError>>,
    {
        let slot = self.slot(scope);
        let mut read = Some(read);
        if let Some(result) = Self::try_read(&slot, self.max_age, &mut read) {
            return Ok(result);
        }
        let _loading = slot.loading.lock().await;
        // Someone else may have loaded it while we waited.
        if let Some(result) = Self::try_read(&slot, self.max_age, &mut read) {
            return Ok(result);
        }
        let by_id: HashMap<String, T> = load().await?.into_iter().collect();
        let mut current = slot.current.write().unwrap_or_else(|p| p.into_inner());
        let snapshot = current.insert(Snapshot { fetched_at: Instant::now(), by_id });
        match read.take() {
            Some(read) => Ok(read(&snapshot.by_id)),
            None => Err(ZpaError::Terminal { detail: "internal: snapshot reader ran twice".into() }),
        }
    }

    /// Runs `read` under the read lock when the snapshot is fresh.
    fn try_read<R>(
        slot: &Slot<T>,
        max_age: Duration,
        read: &mut Option<impl FnOnce(&HashMap<String, T>) -> R>,
    ) -> Option<R> {
        let current = slot.current.read().unwrap_or_else(|p| p.into_inner());
        let snapshot = current.as_ref().filter(|s| s.fetched_at.elapsed() < max_age)?;
        read.take().map(|read| read(&snapshot.by_id))
    }

    /// Records an object we just created, read or updated.
    pub fn upsert(&self, scope: &str, id: &str, object: T) {
        let slot = self.slot(scope);
        let mut current = slot.current.write().unwrap_or_else(|p| p.into_inner());
        if let Some(snapshot) = current.as_mut() {
            snapshot.by_id.insert(id.to_owned(), object);
        }
    }

    /// Forgets an object we just deleted (or found gone).
    pub fn remove(&self, scope: &str, id: &str) {
        let slot = self.slot(scope);
        let mut current = slot.current.write().unwrap_or_else(|p| p.into_inner());
        if let Some(snapshot) = current.as_mut() {
            snapshot.by_id.remove(id);
        }
    }

    /// Drops a scope's snapshot so the next reader lists again (after ZPA
    /// told us something the snapshot does not know, e.g. a duplicate name).
    pub fn invalidate(&self, scope: &str) {
        let slot = self.slot(scope);
        *slot.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn loader(
        calls: &AtomicUsize,
        items: Vec<(&str, u32)>,
    ) -> impl Future<Output = Result<Vec<(String, u32)>, ZpaError>> {
        calls.fetch_add(1, Ordering::SeqCst);
        let items: Vec<(String, u32)> = items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        async move { Ok(items) }
    }

    #[tokio::test(start_paused = true)]
    async fn one_list_serves_every_reader_until_it_is_stale() {
        let cache = SnapshotCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        for _ in 0..10 {
            let seen = cache.with_fresh("0", || loader(&calls, vec![("a", 1)]), |m| m.get("a").copied()).await.unwrap();
            assert_eq!(seen, Some(1));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        let seen = cache.with_fresh("0", || loader(&calls, vec![("a", 2)]), |m| m.get("a").copied()).await.unwrap();
        assert_eq!((seen, calls.load(Ordering::SeqCst)), (Some(2), 2));
    }

    #[tokio::test(start_paused = true)]
    async fn writes_go_through_and_scopes_are_separate() {
        let cache = SnapshotCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        cache.with_fresh("0", || loader(&calls, vec![("a", 1)]), |_| ()).await.unwrap();
        cache.upsert("0", "b", 5);
        cache.remove("0", "a");
        let ids =
            cache.with_fresh("0", || loader(&calls, vec![]), |m| m.keys().cloned().collect::<Vec<_>>()).await.unwrap();
        assert_eq!(ids, vec!["b".to_owned()]);
        let other = cache.with_fresh("42", || loader(&calls, vec![("z", 9)]), |m| m.len()).await.unwrap();
        assert_eq!((other, calls.load(Ordering::SeqCst)), (1, 2));
        cache.invalidate("0");
        cache.with_fresh("0", || loader(&calls, vec![]), |_| ()).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
