//! [`Lookup`]: reads of single rows by id that arrive together share one query.
//!
//! Under load most of a primary-key read's cost is the round trip, not the read: PostgreSQL
//! answers `where id = any($1)` for twenty ids nearly as fast as `where id = $1` for one. At
//! most [`WORKERS`] queries run at once. A read that finds no query running runs its own,
//! at once, as a plain `where id = $1`. Otherwise it hands its id to the worker tasks: a free
//! worker takes every id waiting at that moment (at most [`MAX_BATCH`]) and asks for all of
//! them at once. Nothing ever waits for a batch to fill: batches only form from requests that
//! arrived while every slot was busy, as group commit does. Each query starts after every
//! request in it arrived, so a read still sees every write committed before it was made.
//!
//! Measured (docs/performance.md): a lone reader handing its id to a worker and reading it with
//! `any($1)` lost 15 % against a plain query, hence the direct path; from 16 concurrent readers
//! on, batching won by 30 to 80 %.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};

use crate::Db;

/// Most ids in one query.
pub const MAX_BATCH: usize = 128;
/// Queries in flight at once.
pub const WORKERS: usize = 4;
/// Requests that may wait for a worker before callers wait to hand theirs in.
const QUEUE: usize = 4096;

/// Reads one row by id.
type FetchOne<V> =
    Arc<dyn Fn(Db, i64) -> BoxFuture<'static, Result<Option<V>, sqlx::Error>> + Send + Sync>;
/// Reads the rows with the given ids (any order, missing ones left out).
type FetchMany<V> =
    Arc<dyn Fn(Db, Vec<i64>) -> BoxFuture<'static, Result<Vec<V>, sqlx::Error>> + Send + Sync>;

/// The two queries of a lookup, and how to tell a row's id.
struct Queries<V> {
    one: FetchOne<V>,
    many: FetchMany<V>,
    id_of: fn(&V) -> i64,
}

impl<V> Clone for Queries<V> {
    fn clone(&self) -> Self {
        Self {
            one: Arc::clone(&self.one),
            many: Arc::clone(&self.many),
            id_of: self.id_of,
        }
    }
}

/// How a batch answered one request.
enum Answer<V> {
    Found(Option<V>),
    /// The batch's query failed; the caller repeats its own read to get the error.
    Failed,
}

struct Request<V> {
    id: i64,
    answer: oneshot::Sender<Answer<V>>,
}

/// Reads rows of type `V` by id, coalescing concurrent reads. Cheap to clone.
pub struct Lookup<V> {
    db: Db,
    queries: Queries<V>,
    slots: Arc<Semaphore>,
    requests: mpsc::Sender<Request<V>>,
}

impl<V> Clone for Lookup<V> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            queries: self.queries.clone(),
            slots: Arc::clone(&self.slots),
            requests: self.requests.clone(),
        }
    }
}

impl<V: Clone + Send + 'static> Lookup<V> {
    /// Lookups on `db`: `one` reads a row by id, `many` the rows with the given ids (any
    /// order, missing ones left out), and `id_of` tells which id a row has. Starts the workers
    /// on the current Tokio runtime; they stop when the last clone is dropped.
    pub fn new<One, OneFut, Many, ManyFut>(
        db: Db,
        id_of: fn(&V) -> i64,
        one: One,
        many: Many,
    ) -> Self
    where
        One: Fn(Db, i64) -> OneFut + Send + Sync + 'static,
        OneFut: Future<Output = Result<Option<V>, sqlx::Error>> + Send + 'static,
        Many: Fn(Db, Vec<i64>) -> ManyFut + Send + Sync + 'static,
        ManyFut: Future<Output = Result<Vec<V>, sqlx::Error>> + Send + 'static,
    {
        let queries = Queries {
            one: Arc::new(move |db, id| Box::pin(one(db, id))),
            many: Arc::new(move |db, ids| Box::pin(many(db, ids))),
            id_of,
        };
        let (requests, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let slots = Arc::new(Semaphore::new(WORKERS));
        for _ in 0..WORKERS {
            tokio::spawn(work(
                Arc::clone(&queue),
                Arc::clone(&slots),
                db.clone(),
                queries.clone(),
            ));
        }
        Self {
            db,
            queries,
            slots,
            requests,
        }
    }

    /// The row with `id`, if there is one.
    pub async fn get(&self, id: i64) -> Result<Option<V>, sqlx::Error> {
        let idle = self.slots.available_permits() == WORKERS
            && self.requests.capacity() == self.requests.max_capacity();
        if idle {
            if let Ok(_slot) = self.slots.try_acquire() {
                return self.read_alone(id).await;
            }
        }
        let (answer, answered) = oneshot::channel();
        if self.requests.send(Request { id, answer }).await.is_ok() {
            if let Ok(Answer::Found(row)) = answered.await {
                return Ok(row);
            }
        }
        // The batch failed (or the workers are gone): read alone, so the caller gets this
        // read's own error to classify.
        self.read_alone(id).await
    }

    async fn read_alone(&self, id: i64) -> Result<Option<V>, sqlx::Error> {
        (self.queries.one)(self.db.clone(), id).await
    }
}

async fn work<V: Clone>(
    queue: Arc<Mutex<mpsc::Receiver<Request<V>>>>,
    slots: Arc<Semaphore>,
    db: Db,
    queries: Queries<V>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                let Ok(next) = queue.try_recv() else { break };
                batch.push(next);
            }
        }
        let mut ids: Vec<i64> = batch.iter().map(|request| request.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let Ok(_slot) = slots.acquire().await else {
            return;
        };
        let read = match ids.as_slice() {
            [id] => (queries.one)(db.clone(), *id)
                .await
                .map(|row| row.into_iter().collect()),
            _ => (queries.many)(db.clone(), ids).await,
        };
        match read {
            Ok(rows) => {
                let found: HashMap<i64, V> = rows
                    .into_iter()
                    .map(|row| ((queries.id_of)(&row), row))
                    .collect();
                for request in batch.drain(..) {
                    // A caller that gave up (its request was cancelled) no longer listens.
                    let _ = request
                        .answer
                        .send(Answer::Found(found.get(&request.id).cloned()));
                }
            }
            Err(error) => {
                tracing::debug!(%error, ids = batch.len(), "batched lookup failed; each caller reads alone");
                for request in batch.drain(..) {
                    let _ = request.answer.send(Answer::Failed);
                }
            }
        }
    }
}
