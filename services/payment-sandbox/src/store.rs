//! The checkout sessions, in memory behind one lock (a sandbox runs as one replica; a restart
//! forgets everything). Bounded: beyond the capacity, the oldest closed session is forgotten,
//! or the oldest of all when every one is still open. Idempotency keys live as long as their
//! session.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::domain::{NewSession, Session, Status};

/// The sessions.
pub struct Store {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Entry>,
    /// Idempotency key → session id.
    keys: HashMap<String, String>,
    /// Creation order → session id.
    age: BTreeMap<u64, String>,
    /// Creation order of the closed (paid or declined) sessions.
    closed: BTreeSet<u64>,
    next: u64,
}

struct Entry {
    seq: u64,
    key: Option<String>,
    session: Session,
}

/// What a create call did.
#[derive(Debug)]
pub enum Created<T> {
    /// A new session, and what was done to it on creation.
    New(Session, T),
    /// The session created earlier with the same idempotency key, as it is now.
    Replayed(Session),
}

impl Store {
    /// An empty store keeping at most `capacity` sessions.
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a session and runs `then` on it under the same lock (so nobody sees it between
    /// the two), or finds the one created earlier with `key`.
    pub fn create<T>(
        &self,
        key: Option<String>,
        details: NewSession,
        then: impl FnOnce(&mut Session) -> T,
    ) -> Created<T> {
        let mut state = self.lock();
        if let Some(existing) = key
            .as_ref()
            .and_then(|key| state.keys.get(key))
            .and_then(|id| state.sessions.get(id))
        {
            return Created::Replayed(existing.session.clone());
        }
        while state.sessions.len() >= self.capacity {
            state.evict_one();
        }
        let mut session = Session::open(details);
        let done = then(&mut session);
        let seq = state.next;
        state.next += 1;
        state.age.insert(seq, session.id.clone());
        if session.status != Status::Open {
            state.closed.insert(seq);
        }
        if let Some(key) = &key {
            state.keys.insert(key.clone(), session.id.clone());
        }
        let snapshot = session.clone();
        state
            .sessions
            .insert(session.id.clone(), Entry { seq, key, session });
        Created::New(snapshot, done)
    }

    /// The session `id`, as it is now.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().sessions.get(id).map(|e| e.session.clone())
    }

    /// Runs `change` on the session `id` under the lock; `None` when there is no such session.
    pub fn update<T>(&self, id: &str, change: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut state = self.lock();
        let entry = state.sessions.get_mut(id)?;
        let done = change(&mut entry.session);
        if entry.session.status != Status::Open {
            let seq = entry.seq;
            state.closed.insert(seq);
        }
        Some(done)
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl State {
    /// Forgets the oldest closed session, else the oldest.
    fn evict_one(&mut self) {
        let seq = match self.closed.first() {
            Some(seq) => *seq,
            None => match self.age.first_key_value() {
                Some((seq, _)) => *seq,
                None => return,
            },
        };
        self.closed.remove(&seq);
        let Some(id) = self.age.remove(&seq) else {
            return;
        };
        if let Some(Entry { key: Some(key), .. }) = self.sessions.remove(&id) {
            self.keys.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CardOutcome;

    fn details(reference: &str) -> NewSession {
        NewSession::parse(100, "USD", reference, None, None).unwrap()
    }

    fn create(store: &Store, key: Option<&str>, reference: &str) -> Session {
        match store.create(key.map(str::to_owned), details(reference), |_| ()) {
            Created::New(session, ()) | Created::Replayed(session) => session,
        }
    }

    #[test]
    fn the_same_key_gives_the_same_session() {
        let store = Store::new(10);
        let first = create(&store, Some("k"), "1");
        let again = store.create(Some("k".to_owned()), details("1"), |_| ());
        assert!(matches!(again, Created::Replayed(s) if s.id == first.id));
        assert_ne!(create(&store, Some("other"), "1").id, first.id);
        assert_ne!(create(&store, None, "1").id, first.id);
    }

    #[test]
    fn beyond_the_capacity_the_oldest_closed_session_goes_first() {
        let store = Store::new(3);
        let oldest_open = create(&store, Some("a"), "1");
        let closed = create(&store, Some("b"), "2");
        store.update(&closed.id, |s| {
            s.pay(CardOutcome::Approved {
                refunds_fail: false,
            })
        });
        create(&store, None, "3");
        create(&store, None, "4");
        assert_eq!(store.len(), 3);
        assert!(store.get(&closed.id).is_none(), "the closed one went");
        assert!(store.get(&oldest_open.id).is_some());
        // Its key went with it: the same key now makes a new session.
        assert!(matches!(
            store.create(Some("b".to_owned()), details("2"), |_| ()),
            Created::New(..)
        ));
        assert!(
            store.get(&oldest_open.id).is_none(),
            "then the oldest open one"
        );
    }
}
