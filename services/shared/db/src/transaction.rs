//! [`Transaction`]: a transaction on a connection of its own, as sqlx's, on a [`Db`]
//! connection. Dereferences to the connection, so queries run on `&mut *tx`.

use std::ops::{Deref, DerefMut};

use sqlx::PgConnection;

use crate::pool::{Db, PooledConnection, State};

/// An open transaction. [`commit`](Self::commit) makes its writes durable; dropping it without
/// committing rolls it back (at once, in the background, so no lock outlives the request).
pub struct Transaction {
    conn: PooledConnection,
}

impl Db {
    /// Begins a transaction on a connection of its own.
    pub async fn begin(&self) -> Result<Transaction, sqlx::Error> {
        let mut conn = self.acquire().await?;
        conn.transaction_control("begin", State::InTransaction)
            .await?;
        Ok(Transaction { conn })
    }
}

impl Transaction {
    /// Commits; the connection goes back to the pool. The work at hand is past its point of no
    /// return from here on: an HTTP request is answered with the commit's outcome even when its
    /// deadline passes meanwhile, never with "try again".
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        microshop_telemetry::deadline::commit_point();
        self.conn.transaction_control("commit", State::Clean).await
    }

    /// Rolls back now (dropping the transaction does the same in the background).
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.conn
            .transaction_control("rollback", State::Clean)
            .await
    }
}

impl Deref for Transaction {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}
