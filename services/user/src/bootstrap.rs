//! The first admin account, from `BOOTSTRAP_ADMIN_EMAIL` and `BOOTSTRAP_ADMIN_PASSWORD` at
//! start-up (like Grafana's or Argo CD's initial admin): created if the address is not
//! registered, made an admin if it is (its password is left alone: the account may have changed
//! it since). Idempotent, and safe when several replicas start at once: the unique index on the
//! e-mail address decides which one creates the account.

use microshop_messaging::outbox::Outbox;

use crate::db::users;
use crate::domain::{Email, Password};
use crate::hasher::Hasher;
use crate::{Error, events};

/// The display name of a bootstrap admin created from scratch.
pub const ADMIN_NAME: &str = "Administrator";

/// What the bootstrap found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The account did not exist and was created as an admin.
    Created,
    /// The account existed as a customer and is now an admin.
    Promoted,
    /// The account is an admin already: nothing changed.
    Unchanged,
}

/// Makes sure `email` is an admin account, created with `password` if it is new.
pub async fn admin(
    outbox: &Outbox,
    hasher: &Hasher,
    email: &Email,
    password: Password,
) -> Result<Outcome, Error> {
    let hash = hasher.hash(password).await?;
    let mut tx = outbox.begin().await?;
    let outcome = if let Some(row) =
        users::insert_admin_if_absent(&mut *tx, email.as_str(), ADMIN_NAME, &hash).await?
    {
        tx.enqueue(&[events::registered(&row)]).await?;
        Outcome::Created
    } else if let Some(row) = users::promote_to_admin(&mut *tx, email.as_str()).await? {
        tx.enqueue(&[events::updated(&row)]).await?;
        Outcome::Promoted
    } else {
        Outcome::Unchanged
    };
    tx.commit().await?;
    // The operator chose this address for the shop's admin: naming it tells them which account
    // to log in with (the password is never logged).
    let message = match outcome {
        Outcome::Created => "bootstrap admin account created",
        Outcome::Promoted => "bootstrap admin account existed; it is now an admin",
        Outcome::Unchanged => "bootstrap admin account exists and is an admin",
    };
    tracing::info!(email = email.as_str(), "{message}");
    Ok(outcome)
}
