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
use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::zpa::ZpaError;

/// What a snapshot entry is found by besides its id: its remote name, which
/// lookups compare case-insensitively (as ZPA's SDKs match names).
pub trait Named {
    fn name(&self) -> &str;
}

/// The objects of one scope, by id and by name (`T` is how an object is
/// stored, e.g. [`super::packed::Packed`]). Each is its own allocation, so
/// the tables hold pointers, and a write replayed onto a list in flight is
/// shared. A lookup by name is one hash probe, not a pass over the scope:
/// every create looks its name up first.
#[derive(Debug)]
pub struct Entries<T> {
    by_id: HashMap<String, Arc<T>>,
    /// The hash of each lowercase name -> the entries with a name of that hash.
    by_name: HashMap<u64, Bucket<T>>,
}

/// The entries under one name hash: nearly always one.
#[derive(Debug)]
enum Bucket<T> {
    One(Arc<T>),
    Many(Vec<Arc<T>>),
}

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Self { by_id: HashMap::new(), by_name: HashMap::new() }
    }
}

/// The key of a name in [`Entries`]: a hash of its lowercase form, computed
/// without allocating it.
fn name_key(name: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        c.hash(&mut hasher);
    }
    hasher.finish()
}

impl<T: Named> Entries<T> {
    pub fn get(&self, id: &str) -> Option<&Arc<T>> {
        self.by_id.get(id)
    }

    /// The entries named `name`, ignoring case.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Arc<T>> + 'a {
        let bucket = self.by_name.get(&name_key(name));
        let all: &[Arc<T>] = match bucket {
            Some(Bucket::One(one)) => std::slice::from_ref(one),
            Some(Bucket::Many(many)) => many,
            None => &[],
        };
        let wanted = name.to_lowercase();
        all.iter().filter(move |entry| entry.name().to_lowercase() == wanted)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_id.len()
    }

    #[cfg(test)]
    fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    fn insert(&mut self, id: String, object: Arc<T>) {
        let key = name_key(object.name());
        if let Some(old) = self.by_id.insert(id, Arc::clone(&object)) {
            self.unname(&old);
        }
        match self.by_name.remove(&key) {
            None => self.by_name.insert(key, Bucket::One(object)),
            Some(Bucket::One(first)) => self.by_name.insert(key, Bucket::Many(vec![first, object])),
            Some(Bucket::Many(mut many)) => {
                many.push(object);
                self.by_name.insert(key, Bucket::Many(many))
            }
        };
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.by_id.remove(id) {
            self.unname(&old);
        }
    }

    fn unname(&mut self, old: &Arc<T>) {
        let key = name_key(old.name());
        match self.by_name.remove(&key) {
            Some(Bucket::One(one)) if !Arc::ptr_eq(&one, old) => {
                self.by_name.insert(key, Bucket::One(one));
            }
            Some(Bucket::Many(mut many)) => {
                many.retain(|entry| !Arc::ptr_eq(entry, old));
                match many.len() {
                    0 => {}
                    1 => {
                        let one = many.remove(0);
                        self.by_name.insert(key, Bucket::One(one));
                    }
                    _ => {
                        self.by_name.insert(key, Bucket::Many(many));
                    }
                }
            }
            Some(Bucket::One(_)) | None => {}
        }
    }
}

impl<T: Named> FromIterator<(String, Arc<T>)> for Entries<T> {
    fn from_iter<I: IntoIterator<Item = (String, Arc<T>)>>(items: I) -> Self {
        let mut entries = Self::default();
        for (id, object) in items {
            entries.insert(id, object);
        }
        entries
    }
}

#[derive(Debug)]
struct Snapshot<T> {
    fetched_at: Instant,
    entries: Entries<T>,
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

impl<T: Named> Slot<T> {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, Option<InFlight<T>>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a write to the snapshot and to a list in flight.
    fn write(&self, id: &str, write: Write<T>) {
        let mut in_flight = self.in_flight();
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if let Some(snapshot) = current.as_mut() {
            match &write {
                Write::Upsert(object) => snapshot.entries.insert(id.to_owned(), Arc::clone(object)),
                Write::Remove => snapshot.entries.remove(id),
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

impl<T: Named> SnapshotCache<T> {
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
        read: impl FnOnce(&Entries<T>) -> R,
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
        read: impl FnOnce(&Entries<T>) -> R,
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
        read: impl FnOnce(&Entries<T>) -> R,
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
        let mut entries: Entries<T> = loaded?.into_iter().collect();
        for (id, write) in writes {
            match write {
                Write::Upsert(object) => entries.insert(id, object),
                Write::Remove => entries.remove(&id),
            }
        }
        let mut current = slot.current.write().unwrap_or_else(|p| p.into_inner());
        drop(in_flight);
        let Some(read) = read.take() else {
            return Err(ZpaError::Internal { detail: "snapshot reader ran twice".into() });
        };
        if invalidated {
            // Something this list may predate: serve this reader, keep nothing.
            *current = None;
            return Ok(read(&entries));
        }
        // Its age counts from when the list started: it may miss what others
        // changed after that, never what we did.
        let snapshot = current.insert(Snapshot { fetched_at: started, entries });
        Ok(read(&snapshot.entries))
    }

    /// Runs `read` under the read lock when the snapshot is usable.
    fn try_read<R>(
        slot: &Slot<T>,
        usable: &impl Fn(Instant) -> bool,
        read: &mut Option<impl FnOnce(&Entries<T>) -> R>,
    ) -> Option<R> {
        let current = slot.current.read().unwrap_or_else(|p| p.into_inner());
        let snapshot = current.as_ref().filter(|s| usable(s.fetched_at))?;
        read.take().map(|read| read(&snapshot.entries))
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

    #[derive(Debug, PartialEq)]
    struct Obj {
        value: u32,
        name: String,
    }

    impl Named for Obj {
        fn name(&self) -> &str {
            &self.name
        }
    }

    fn obj(value: u32) -> Obj {
        Obj { value, name: format!("Object {value}") }
    }

    fn listed(items: Vec<(&str, u32)>) -> Vec<(String, Arc<Obj>)> {
        items.into_iter().map(|(k, v)| (k.to_owned(), Arc::new(obj(v)))).collect()
    }

    fn loader(
        calls: &AtomicUsize,
        items: Vec<(&str, u32)>,
    ) -> impl Future<Output = Result<Vec<(String, Arc<Obj>)>, ZpaError>> + use<> {
        calls.fetch_add(1, Ordering::SeqCst);
        let items = listed(items);
        async move { Ok(items) }
    }

    #[tokio::test(start_paused = true)]
    async fn one_list_serves_every_reader_until_it_is_stale() {
        let cache = SnapshotCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        for _ in 0..10 {
            let seen = cache
                .with_fresh("0", || loader(&calls, vec![("a", 1)]), |m| m.get("a").map(|v| v.value))
                .await
                .unwrap();
            assert_eq!(seen, Some(1));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        let seen =
            cache.with_fresh("0", || loader(&calls, vec![("a", 2)]), |m| m.get("a").map(|v| v.value)).await.unwrap();
        assert_eq!((seen, calls.load(Ordering::SeqCst)), (Some(2), 2));
    }

    #[tokio::test(start_paused = true)]
    async fn writes_go_through_and_scopes_are_separate() {
        let cache = SnapshotCache::new(Duration::from_secs(60));
        let calls = AtomicUsize::new(0);
        cache.with_fresh("0", || loader(&calls, vec![("a", 1)]), |_| ()).await.unwrap();
        cache.upsert("0", "b", obj(5));
        cache.remove("0", "a");
        let ids = cache
            .with_fresh("0", || loader(&calls, vec![]), |m| m.ids().map(str::to_owned).collect::<Vec<_>>())
            .await
            .unwrap();
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
            .with_listed_since("0", since, || loader(&calls, vec![("b", 2)]), |m| m.get("a").is_some())
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
        cache: &Arc<SnapshotCache<Obj>>,
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
        cache.upsert("0", "created", obj(2));
        cache.remove("0", "deleted");
        release.send(()).unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), 2, "listed + created, without the deleted one");
        let calls = AtomicUsize::new(0);
        let mut ids = cache
            .with_fresh("0", || loader(&calls, vec![]), |m| m.ids().map(str::to_owned).collect::<Vec<_>>())
            .await
            .unwrap();
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

    /// Names are found in one probe, ignoring case, and follow the writes:
    /// a renamed entry is found by its new name only, a removed one not at all.
    #[test]
    fn entries_are_found_by_name_ignoring_case() {
        let named = |entries: &Entries<Obj>, name: &str| {
            let mut values: Vec<u32> = entries.named(name).map(|o| o.value).collect();
            values.sort();
            values
        };
        let mut entries: Entries<Obj> = listed(vec![("a", 1), ("b", 2)]).into_iter().collect();
        entries.insert("c".into(), Arc::new(Obj { value: 3, name: "OBJECT 1".into() }));
        entries.insert("d".into(), Arc::new(Obj { value: 4, name: "Straße".into() }));
        assert_eq!(named(&entries, "object 1"), vec![1, 3], "duplicate names, any case");
        assert_eq!(named(&entries, "STRASSE"), Vec::<u32>::new(), "lowercase, not case folding");
        assert_eq!(named(&entries, "straße"), vec![4]);
        entries.insert("a".into(), Arc::new(Obj { value: 5, name: "Renamed".into() }));
        assert_eq!(named(&entries, "Object 1"), vec![3]);
        assert_eq!(named(&entries, "renamed"), vec![5]);
        entries.remove("c");
        entries.remove("missing");
        assert_eq!(named(&entries, "object 1"), Vec::<u32>::new());
        assert_eq!((entries.len(), named(&entries, "object 2")), (3, vec![2]));
        assert!(entries.by_name.values().all(|b| matches!(b, Bucket::One(_))), "buckets shrink back");
    }
}
