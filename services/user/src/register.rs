//! Registering an account, the write protocol of `POST /api/users`: the password is hashed with
//! argon2id (a bounded number at once), then the user is stored; an address registered already
//! is a conflict, decided by the database's unique index so that concurrent registrations of one
//! address create one account.

use microshop_db::Db;

use crate::Error;
use crate::db::users::{self, UserRow};
use crate::domain::NewUser;
use crate::hasher::Hasher;

/// Registers `user`.
pub async fn user(db: &Db, hasher: &Hasher, user: NewUser) -> Result<UserRow, Error> {
    let hash = hasher.hash(user.password.clone()).await?;
    let row = users::insert(db, &user, &hash).await?;
    // DEBUG: at INFO each request logs one line, the access line.
    tracing::debug!(user.id = row.id, "user registered");
    Ok(row)
}
