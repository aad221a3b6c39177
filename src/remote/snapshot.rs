//! List-based observation: one list call serves every reconcile of a scope
//! until the snapshot is older than `max_age` (the resync interval).
//!
//! ZPA allows 20 reads per 10 s. One GET per object per resync stops scaling
//! at about a hundred objects; a list of up to 500 per page does not. Our own
//! writes are applied to the snapshot as they succeed, so it stays as fresh
//! as what we know; drift made by others is seen at the next refresh.
//!
//! A list takes time (several pages, each waiting for read budget), and creates
//! go on meanwhile: writes made while a list is in flight are replayed onto its
//! result, so a refresh never forgets an object we just created (which would
//! cost a GET per such object, or worse, look like a vanished object).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::zpa::ZpaError;

/// Objects of one scope, by id (`T` is how an object is stored, e.g.
/// [`super::packed::Packed`]). Each is its own allocation, so the map's
/// table holds pointers, and a write replayed onto a list in flight is shared.
pub type ById<T> = HashMap<String, Arc<T>>;

#[derive(Debug)]
struct Snapshot<T> {
    fetched_at: Instant,
    by_id: ById<T>,
}

/// What happened to one object while a list was in flight.
#[derive(Debug)]
enum Write<T> {
    Upsert(Arc<T>),
    Remove,
}

#[derive(Debug)]
struct Slot<T> {
    /// Held while loading, so concurrent reconciles share one list call.
    loading: tokio::sync::Mutex<()>,
    current: RwLock<Option<Snapshot<T>>>,
    /// While a list is in flight: our writes since it started (replayed onto
    /// its result), and whether the scope was invalidated meanwhile.
    in_flight: Mutex<Option<InFlight<T>>>,
}

#[derive(Debug)]
struct InFlight<T> {
    writes: Vec<(String, Write<T>)>,
    invalidated: bool,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self { loading: tokio::sync::Mutex::new(()), current: RwLock::new(None), in_flight: Mutex::new(None) }
    }
}

impl<T> Slot<T> {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, Option<InFlight<T>>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a write to the snapshot and to a list in flight.
    fn write(&self, id: &str, write: Write<T>) {
        let mut in_flight = self.in_flight();
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if let Some(snapshot) = current.as_mut() {
            match &write {
                Write::Upsert(object) => {
                    snapshot.by_id.insert(id.to_owned(), Arc::clone(object));
                }
                Write::Remove => {
                    snapshot.by_id.remove(id);
                }
            }
        }
        if let Some(loading) = in_flight.as_mut() {
            loading.writes.push((id.to_owned(), write));
        }
    }
}

/// Snapshots per scope (a Microtenant id for profiles; one scope for Microtenants).
#[derive(Debug)]
pub struct SnapshotCache<T> {
    max_age: Duration,
    slots: Mutex<HashMap<String, Arc<Slot<T>>>>,
}

impl<T> SnapshotCache<T> {
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
        read: impl FnOnce(&ById<T>) -> R,
    ) -> Result<R, ZpaError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, Arc<T>)>, ZpaError>>,
    {
        let max_age = self.max_age;
        self.with_snapshot(scope, move |fetched_at| fetched_at.elapsed() < max_age, load, read).await
    }

    /// Runs `read` on a snapshot whose list started at `since` or later,
    /// loading one when needed: what the scope held after something seen at
    /// `since` (a 404 for an object: a list that does not hold it either is
    /// proof it is gone). Readers that ask with earlier instants share it.
    pub async fn with_listed_since<R, F, Fut>(
        &self,
        scope: &str,
        since: Instant,
        load: F,
        read: impl FnOnce(&ById<T>) -> R,
    ) -> Result<R, ZpaError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, Arc<T>)>, ZpaError>>,
    {
        let max_age = self.max_age;
        let usable = move |fetched_at: Instant| fetched_at >= since && fetched_at.elapsed() < max_age;
        self.with_snapshot(scope, usable, load, read).await
    }

    /// Runs `read` on the snapshot when `usable` (given when its list
    /// started) accepts it, else on a new one from `load`.
    async fn with_snapshot<R, F, Fut>(
        &self,
        scope: &str,
        usable: impl Fn(Instant) -> bool,
        load: F,
        read: impl FnOnce(&ById<T>) -> R,
    ) -> Result<R, ZpaError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<(String, Arc<T>)>, ZpaError>>,
    {
        let slot = self.slot(scope);
        let mut read = Some(read);
        if let Some(result) = Self::try_read(&slot, &usable, &mut read) {
            return Ok(result);
        }
        let _loading = slot.loading.lock().await;
        // Someone else may have loaded it while we waited.
        if let Some(result) = Self::try_read(&slot, &usable, &mut read) {
            return Ok(result);
        }
        let started = Instant::now();
        *slot.in_flight() = Some(InFlight { writes: Vec::new(), invalidated: false });
        // The stale snapshot serves nobody from here on (readers wait for this
        // load): free it now rather than hold two copies of a large scope.
        *slot.current.write().unwrap_or_else(|p| p.into_inner()) = None;
        let loaded = load().await;
        let mut in_flight = slot.in_flight();
        let InFlight { writes, invalidated } =
            in_flight.take().unwrap_or(InFlight { writes: Vec::new(), invalidated: false });
        let mut by_id: ById<T> = loaded?.into_iter().collect();
        for (id, write) in writes {
            match write {
                Write::Upsert(object) => by_id.insert(id, object),
                Write::Remove => by_id.remove(&id),
            };
        }
        let mut current = slot.current.write().unwrap_or_else(|p| p.into_inner());
        drop(in_flight);
        let Some(read) = read.take() else {
            return Err(ZpaError::Internal { detail: "snapshot reader ran twice".into() });
        };
        if invalidated {
            // Something this list may predate: serve this reader, keep nothing.
            *current = None;
            return Ok(read(&by_id));
        }
        // Its age counts from when the list started: it may miss what others
        // changed after that, never what we did.
        let snapshot = current.insert(Snapshot { fetched_at: started, by_id });
        Ok(read(&snapshot.by_id))
    }

    /// Runs `read` under the read lock when the snapshot is usable.
    fn try_read<R>(
        slot: &Slot<T>,
        usable: &impl Fn(Instant) -> bool,
        read: &mut Option<impl FnOnce(&ById<T>) -> R>,
    ) -> Option<R> {
        let current = slot.current.read().unwrap_or_else(|p| p.into_inner());
        let snapshot = current.as_ref().filter(|s| usable(s.fetched_at))?;
        read.take().map(|read| read(&snapshot.by_id))
    }

    /// Records an object we just created, read or updated.
    pub fn upsert(&self, scope: &str, id: &str, object: T) {
        self.slot(scope).write(id, Write::Upsert(Arc::new(object)));
    }

    /// Forgets an object we just deleted (or found gone).
    pub fn remove(&self, scope: &str, id: &str) {
        self.slot(scope).write(id, Write::Remove);
    }

    /// Drops a scope's snapshot so the next reader lists again (after ZPA
    /// told us something the snapshot does not know, e.g. a duplicate name).
    /// A list already in flight may predate it, so its result is not kept.
    pub fn invalidate(&self, scope: &str) {
        let slot = self.slot(scope);
        let mut in_flight = slot.in_flight();
        if let Some(loading) = in_flight.as_mut() {
            loading.invalidated = true;
        }
        *slot.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn listed(items: Vec<(&str, u32)>) -> Vec<(String, Arc<u32>)> {
        items.into_iter().map(|(k, v)| (k.to_owned(), Arc::new(v))).collect()
    }

    fn loader(
        calls: &AtomicUsize,
        items: Vec<(&str, u32)>,
    ) -> impl Future<Output = Result<Vec<(String, Arc<u32>)>, ZpaError>> + use<> {
        calls.fetch_add(1, Ordering::SeqCst);
        let items = listed(items);
        async move { Ok(items) }
    }

    #[tokio::test(start_paused = true)]
    async fn one_list_serves_every_reader_until_it_is_stale() {
        let cache = SnapshotCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        for _ in 0..10 {
            let seen =
                cache.with_fresh("0", || loader(&calls, vec![("a", 1)]), |m| m.get("a").map(|v| **v)).await.unwrap();
            assert_eq!(seen, Some(1));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        let seen = cache.with_fresh("0", || loader(&calls, vec![("a", 2)]), |m| m.get("a").map(|v| **v)).await.unwrap();
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

    /// A list that started before an instant does not serve a reader that
    /// needs one taken after it; the one it loads serves every reader that
    /// asks with an earlier instant, and fresh readers too.
    #[tokio::test(start_paused = true)]
    async fn a_list_since_an_instant_is_taken_after_it_and_shared() {
        let cache = SnapshotCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        cache.with_fresh("0", || loader(&calls, vec![("a", 1)]), |_| ()).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        let since = Instant::now();
        let seen = cache
            .with_listed_since("0", since, || loader(&calls, vec![("b", 2)]), |m| m.contains_key("a"))
            .await
            .unwrap();
        assert_eq!((seen, calls.load(Ordering::SeqCst)), (false, 2), "listed again, after the instant");
        let earlier = since.checked_sub(Duration::from_millis(500)).unwrap();
        cache.with_listed_since("0", earlier, || loader(&calls, vec![]), |_| ()).await.unwrap();
        cache.with_fresh("0", || loader(&calls, vec![]), |_| ()).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "that list serves both");
    }

    /// A reader whose list is held in flight: it returns once the list has
    /// started; sending on the returned channel lets the list finish with `items`.
    async fn reader_with_list_in_flight(
        cache: &Arc<SnapshotCache<u32>>,
        items: Vec<(&'static str, u32)>,
    ) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<usize, ZpaError>>) {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let cache = cache.clone();
        let reader = tokio::spawn(async move {
            let load = move || {
                let _ = started_tx.send(());
                async move {
                    let _ = release_rx.await;
                    Ok(listed(items))
                }
            };
            cache.with_fresh("0", load, |m| m.len()).await
        });
        started_rx.await.unwrap();
        (release_tx, reader)
    }

    /// A list that is in flight while we create: the create is replayed onto
    /// it; an invalidation while it is in flight makes the next reader list again.
    #[tokio::test]
    async fn writes_made_while_a_list_is_in_flight_survive_it() {
        let cache = Arc::new(SnapshotCache::new(Duration::from_secs(60)));
        let (release, reader) = reader_with_list_in_flight(&cache, vec![("listed", 1), ("deleted", 3)]).await;
        cache.upsert("0", "created", 2);
        cache.remove("0", "deleted");
        release.send(()).unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), 2, "listed + created, without the deleted one");
        let calls = AtomicUsize::new(0);
        let mut ids =
            cache.with_fresh("0", || loader(&calls, vec![]), |m| m.keys().cloned().collect::<Vec<_>>()).await.unwrap();
        ids.sort();
        assert_eq!((ids, calls.load(Ordering::SeqCst)), (vec!["created".to_owned(), "listed".to_owned()], 0));

        cache.invalidate("0");
        let (release, reader) = reader_with_list_in_flight(&cache, vec![("listed", 1)]).await;
        cache.invalidate("0");
        release.send(()).unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), 1, "the reader that listed is served");
        cache.with_fresh("0", || loader(&calls, vec![]), |_| ()).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a list that predates an invalidation is not kept");
    }
}
