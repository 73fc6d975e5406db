//! Queries straight on `&Db`, as on sqlx's `&PgPool`: each takes a connection for its
//! duration and reports how it went, so a failed connection is closed instead of reused.
//! Result sets are read whole before they are handed on; the services' queries return at most
//! a page of rows.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, Postgres};

use crate::pool::{Db, State};

impl<'c> Executor<'c> for &Db {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let db = self.clone();
        futures::stream::once(async move {
            let mut conn = db.acquire().await?;
            conn.set_state(State::Busy);
            let result: Result<Vec<_>, sqlx::Error> =
                conn.raw().fetch_many(query).try_collect().await;
            conn.settle(&result, State::Clean);
            result
        })
        .map_ok(|items| futures::stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let db = self.clone();
        Box::pin(async move {
            let mut conn = db.acquire().await?;
            conn.set_state(State::Busy);
            let result = conn.raw().fetch_optional(query).await;
            conn.settle(&result, State::Clean);
            result
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        let db = self.clone();
        Box::pin(async move {
            let mut conn = db.acquire().await?;
            conn.set_state(State::Busy);
            let result = conn.raw().prepare_with(sql, parameters).await;
            conn.settle(&result, State::Clean);
            result
        })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        let db = self.clone();
        Box::pin(async move {
            let mut conn = db.acquire().await?;
            conn.set_state(State::Busy);
            let result = conn.raw().describe(sql).await;
            conn.settle(&result, State::Clean);
            result
        })
    }
}
