//! [`Lookup`]: reads of single rows by id that arrive together share one query.
//!
//! Under load most of a primary-key read's cost is the round trip, not the read: PostgreSQL
//! answers `where id = any($1)` for twenty ids nearly as fast as `where id = $1` for one. A
//! lookup hands its id to a few worker tasks; a free worker takes every id waiting at that
//! moment (at most [`MAX_BATCH`]) and asks for all of them at once. Nothing ever waits for a
//! batch to fill: a lone request is sent at once, and batches only form from requests that
//! arrived while the workers were busy, as group commit does. Each query starts after every
//! request in it arrived, so a read still sees every write committed before it was made.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::Db;

/// Most ids in one query.
pub const MAX_BATCH: usize = 128;
/// Queries in flight at once.
const WORKERS: usize = 4;
/// Requests that may wait for a worker before callers wait to hand theirs in.
const QUEUE: usize = 4096;

type Fetch<V> =
    Arc<dyn Fn(Db, Vec<i64>) -> BoxFuture<'static, Result<Vec<V>, sqlx::Error>> + Send + Sync>;

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
    fetch: Fetch<V>,
    requests: mpsc::Sender<Request<V>>,
}

impl<V> Clone for Lookup<V> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            fetch: Arc::clone(&self.fetch),
            requests: self.requests.clone(),
        }
    }
}

impl<V: Clone + Send + 'static> Lookup<V> {
    /// Lookups on `db`: `fetch` reads the rows with the given ids (any order, missing ones
    /// left out) and `id_of` tells which id a row has. Starts the workers on the current Tokio
    /// runtime; they stop when the last clone is dropped.
    pub fn new<F, Fut>(db: Db, id_of: fn(&V) -> i64, fetch: F) -> Self
    where
        F: Fn(Db, Vec<i64>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<V>, sqlx::Error>> + Send + 'static,
    {
        let fetch: Fetch<V> = Arc::new(move |db, ids| Box::pin(fetch(db, ids)));
        let (requests, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WORKERS {
            tokio::spawn(work(
                Arc::clone(&queue),
                db.clone(),
                Arc::clone(&fetch),
                id_of,
            ));
        }
        Self {
            db,
            fetch,
            requests,
        }
    }

    /// The row with `id`, if there is one.
    pub async fn get(&self, id: i64) -> Result<Option<V>, sqlx::Error> {
        let (answer, answered) = oneshot::channel();
        if self.requests.send(Request { id, answer }).await.is_ok() {
            if let Ok(Answer::Found(row)) = answered.await {
                return Ok(row);
            }
        }
        // The batch failed (or the workers are gone): read alone, so the caller gets this
        // read's own error to classify.
        let rows = (self.fetch)(self.db.clone(), vec![id]).await?;
        Ok(rows.into_iter().next())
    }
}

async fn work<V: Clone>(
    queue: Arc<Mutex<mpsc::Receiver<Request<V>>>>,
    db: Db,
    fetch: Fetch<V>,
    id_of: fn(&V) -> i64,
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
        match fetch(db.clone(), ids).await {
            Ok(rows) => {
                let found: HashMap<i64, V> =
                    rows.into_iter().map(|row| (id_of(&row), row)).collect();
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
