//! Registering an account, the write protocol of `POST /api/users`: the password is hashed with
//! argon2id (a bounded number at once), then the user and its `user.registered` are stored in
//! one transaction; an address registered already is a conflict, decided by the database's
//! unique index so that concurrent registrations of one address create one account.

use microshop_messaging::outbox::Outbox;

use crate::db::users::{self, UserRow};
use crate::domain::NewUser;
use crate::hasher::Hasher;
use crate::{Error, events};

/// Registers `user`, always as a customer.
pub async fn user(outbox: &Outbox, hasher: &Hasher, user: NewUser) -> Result<UserRow, Error> {
    let hash = hasher.hash(user.password.clone()).await?;
    let mut tx = outbox.begin().await?;
    let row = users::insert(&mut *tx, &user, &hash).await?;
    tx.enqueue(&[events::registered(&row)]).await?;
    tx.commit().await?;
    // DEBUG: at INFO each request logs one line, the access line.
    tracing::debug!(user.id = row.id, "user registered");
    Ok(row)
}
