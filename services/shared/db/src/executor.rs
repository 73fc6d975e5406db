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

/// Runs `$op` (an expression using the connection `$conn`) on a connection of `$db`, marking
/// the connection busy meanwhile and recording how the operation ended.
macro_rules! on_connection {
    ($db:expr, |$conn:ident| $op:expr) => {{
        let db = $db.clone();
        async move {
            let mut pooled = db.acquire().await?;
            pooled.set_state(State::Busy);
            let $conn = pooled.raw();
            let result = $op.await;
            pooled.settle(&result, State::Clean);
            result
        }
    }};
}

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
        let all = on_connection!(self, |conn| conn.fetch_many(query).try_collect::<Vec<_>>());
        futures::stream::once(all)
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
        Box::pin(on_connection!(self, |conn| conn.fetch_optional(query)))
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(on_connection!(self, |conn| conn.prepare_with(sql, parameters)))
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(on_connection!(self, |conn| conn.describe(sql)))
    }
}
