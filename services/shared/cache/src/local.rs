//! The in-process layer: per space a bounded moka map whose entries are trusted only within
//! the subscription session they were loaded in, and only if no invalidation of their space
//! arrived while they were being loaded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// Whether a session number is one of a live subscription (odd; even = unsubscribed).
pub(crate) fn is_live(session: u64) -> bool {
    session % 2 == 1
}

/// What a reader noted before it looked in Redis.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    session: u64,
    epoch: u64,
}

struct Entry<V> {
    value: Arc<V>,
    session: u64,
    epoch: u64,
}

impl<V> Clone for Entry<V> {
    fn clone(&self) -> Self {
        Self {
            value: Arc::clone(&self.value),
            session: self.session,
            epoch: self.epoch,
        }
    }
}

/// One space's local entries.
pub(crate) struct Layer<V> {
    name: String,
    map: Option<moka::sync::Cache<String, Entry<V>>>,
    /// Bumped by every invalidation of this space, before its keys are dropped.
    epoch: AtomicU64,
    /// Entries noted under an older epoch than this were dropped as a whole.
    floor: AtomicU64,
    /// Orders "check the epoch, insert" against "bump the epoch, drop".
    writes: Mutex<()>,
}

impl<V: Send + Sync + 'static> Layer<V> {
    /// A layer of up to `capacity` entries (none: disabled), each kept at most `ttl`.
    pub(crate) fn new(name: &str, capacity: u64, ttl: Duration) -> Self {
        let map = (capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build()
        });
        Self {
            name: name.to_owned(),
            map,
            epoch: AtomicU64::new(0),
            floor: AtomicU64::new(0),
            writes: Mutex::new(()),
        }
    }

    /// Notes the session and this space's epoch, before a read looks anywhere.
    pub(crate) fn seen(&self, session: u64) -> Seen {
        Seen {
            session,
            epoch: self.epoch.load(Ordering::SeqCst),
        }
    }

    /// The entry of `key`, if it belongs to the live session `seen` was noted in and was not
    /// dropped since.
    pub(crate) fn get(&self, key: &str, seen: Seen) -> Option<Arc<V>> {
        if !is_live(seen.session) {
            return None;
        }
        let entry = self.map.as_ref()?.get(key)?;
        (entry.session == seen.session && entry.epoch >= self.floor.load(Ordering::SeqCst))
            .then_some(entry.value)
    }

    /// Keeps `value` for `key` unless this space was invalidated since `seen` was noted (the
    /// value may predate that invalidation) or there was no live session then.
    pub(crate) fn insert(&self, key: &str, value: &Arc<V>, seen: Seen) {
        let Some(map) = &self.map else { return };
        if !is_live(seen.session) {
            return;
        }
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if self.epoch.load(Ordering::SeqCst) == seen.epoch {
            map.insert(
                key.to_owned(),
                Entry {
                    value: Arc::clone(value),
                    session: seen.session,
                    epoch: seen.epoch,
                },
            );
        }
    }
}

/// A layer seen without its value type, for invalidations.
pub(crate) trait Forget: Send + Sync {
    /// The space's name.
    fn name(&self) -> &str;
    /// Drops `keys`, or every entry with `None`, and fails loads in flight.
    fn forget(&self, keys: Option<&[String]>);
}

impl<V: Send + Sync + 'static> Forget for Layer<V> {
    fn name(&self) -> &str {
        &self.name
    }

    fn forget(&self, keys: Option<&[String]>) {
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(keys) = keys {
            if let Some(map) = &self.map {
                for key in keys {
                    map.invalidate(key);
                }
            }
        } else {
            self.floor.store(epoch, Ordering::SeqCst);
            if let Some(map) = &self.map {
                map.invalidate_all();
            }
        }
    }
}

/// Every layer of a cache, by name (several handles may share a name).
#[derive(Default)]
pub(crate) struct Layers(Mutex<Vec<Weak<dyn Forget>>>);

impl Layers {
    pub(crate) fn add(&self, layer: Weak<dyn Forget>) {
        let mut layers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        layers.retain(|layer| layer.strong_count() > 0);
        layers.push(layer);
    }

    /// Applies an invalidation of `space` (`keys`, or all with `None`) to its layers.
    pub(crate) fn forget(&self, space: &str, keys: Option<&[String]>) {
        for layer in self.live() {
            if layer.name() == space {
                layer.forget(keys);
            }
        }
    }

    /// Drops every entry of every layer.
    pub(crate) fn forget_all(&self) {
        for layer in self.live() {
            layer.forget(None);
        }
    }

    fn live(&self) -> Vec<Arc<dyn Forget>> {
        let layers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        layers.iter().filter_map(Weak::upgrade).collect()
    }
}
