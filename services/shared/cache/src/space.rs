//! A typed space of the cache (`product` by id, `listing` pages) and its read and invalidation
//! paths; see the crate documentation for why they are correct.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{self, Keys};
use crate::local::{Forget, Layer};
use crate::metrics::{Outcome, Requests};
use crate::{Cache, Shared};

/// What one invalidation drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Each key has its own generation: invalidating a product drops that product only.
    PerKey,
    /// One generation for the whole space: any invalidation drops every key (listings, which
    /// any product write may change).
    Whole,
}

/// Values of type `V` cached under one name; cheap to clone.
pub struct Space<V> {
    cache: Cache,
    name: Arc<str>,
    scope: Scope,
    /// `{base}{space}:`.
    names: Arc<str>,
    layer: Arc<Layer<V>>,
    requests: Requests,
}

impl<V> Clone for Space<V> {
    fn clone(&self) -> Self {
        Self {
            cache: self.cache.clone(),
            name: Arc::clone(&self.name),
            scope: self.scope,
            names: Arc::clone(&self.names),
            layer: Arc::clone(&self.layer),
            requests: self.requests.clone(),
        }
    }
}

/// Keys of one space to invalidate, for [`Cache::invalidate_many`]; made by [`Space::keys`] or
/// [`Space::all`].
#[derive(Debug, Clone)]
pub struct Invalidation {
    space: String,
    /// `None`: the whole space.
    keys: Option<Vec<String>>,
}

impl Invalidation {
    pub(crate) fn space(&self) -> &str {
        &self.space
    }

    pub(crate) fn keys(&self) -> Option<&[String]> {
        self.keys.as_deref()
    }

    /// The generation keys this invalidation replaces.
    pub(crate) fn generation_keys(&self, names: &Keys) -> Vec<String> {
        let space = names.space(&self.space);
        match &self.keys {
            Some(keys) => keys
                .iter()
                .map(|key| keys::key_generation(&space, key))
                .collect(),
            None => vec![keys::space_generation(&space)],
        }
    }
}

impl<V> Space<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    pub(crate) fn new(cache: Cache, name: &str, scope: Scope) -> Self {
        let shared = cache.shared();
        let layer = Arc::new(Layer::new(name, shared.local_entries, shared.local_ttl));
        let forget: Arc<dyn Forget> = layer.clone();
        shared.layers.add(Arc::downgrade(&forget));
        Self {
            names: shared.keys.space(name).into(),
            requests: shared.metrics.requests(name),
            name: name.into(),
            scope,
            layer,
            cache,
        }
    }

    /// The value of `key`: from this process, else Redis, else `load` (PostgreSQL), whose
    /// result is stored unless an invalidation came in between. Its only error is `load`'s:
    /// Redis failing or slow means `load` answers. `Ok(None)` is not cached.
    pub async fn get_or_load<E, F, Fut>(&self, key: &str, load: F) -> Result<Option<Arc<V>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        let shared = self.cache.shared();
        if !shared.enabled {
            return Ok(load().await?.map(Arc::new));
        }
        // Noted before anything is read, and before the dirty check: an invalidation that
        // lands after this note keeps this read's value out of the local layer.
        let seen = self.layer.seen(shared.session.load(Ordering::SeqCst));
        if shared.dirty.is_dirty() {
            self.requests.count(Outcome::Bypass);
            return Ok(load().await?.map(Arc::new));
        }
        if let Some(value) = self.layer.get(key, seen) {
            self.requests.count(Outcome::LocalHit);
            return Ok(Some(value));
        }
        let names = self.read_keys(shared, key);
        let answer = shared.store.read(&names).await;
        let Some(mut found) = answer.filter(|found| found.len() == names.len()) else {
            self.requests.count(Outcome::Error);
            return Ok(load().await?.map(Arc::new));
        };
        let generations = found.split_off(1);
        let cached = found.pop().flatten();
        if let Some(value) = cached
            .as_deref()
            .and_then(|stored| decode(stored, &generations))
        {
            self.requests.count(Outcome::Hit);
            let value = Arc::new(value);
            self.layer.insert(key, &value, seen);
            return Ok(Some(value));
        }
        self.requests.count(Outcome::Miss);
        let Some(value) = load().await? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        if let Ok(json) = serde_json::to_string(&*value) {
            if shared.store.store(&names, &generations, &json).await {
                self.layer.insert(key, &value, seen);
            }
        }
        Ok(Some(value))
    }

    /// Invalidates `keys` (for [`Scope::Whole`], the whole space): call it after the write
    /// committed, before answering. Never fails (see [`Cache::invalidate_many`]).
    pub async fn invalidate(&self, keys: &[&str]) {
        self.cache.invalidate_many(&[self.keys(keys)]).await;
    }

    /// Invalidates every key of this space.
    pub async fn invalidate_all(&self) {
        self.cache.invalidate_many(&[self.all()]).await;
    }

    /// `keys` of this space (the whole space for [`Scope::Whole`]), for
    /// [`Cache::invalidate_many`].
    pub fn keys(&self, keys: &[&str]) -> Invalidation {
        Invalidation {
            space: self.name.to_string(),
            keys: match self.scope {
                Scope::PerKey => Some(keys.iter().map(|&key| key.to_owned()).collect()),
                Scope::Whole => None,
            },
        }
    }

    /// Every key of this space, for [`Cache::invalidate_many`].
    pub fn all(&self) -> Invalidation {
        Invalidation {
            space: self.name.to_string(),
            keys: None,
        }
    }

    /// The value's key, then the generations it depends on.
    fn read_keys(&self, shared: &Shared, key: &str) -> Vec<String> {
        let mut names = vec![
            keys::value(&self.names, key),
            shared.keys.epoch(),
            keys::space_generation(&self.names),
        ];
        if self.scope == Scope::PerKey {
            names.push(keys::key_generation(&self.names, key));
        }
        names
    }
}

/// The stored value if it is current under `generations` and still has this space's shape
/// (a value that does not parse is a miss, and is replaced).
fn decode<V: DeserializeOwned>(stored: &str, generations: &[Option<String>]) -> Option<V> {
    serde_json::from_str(keys::current(stored, generations)?).ok()
}
