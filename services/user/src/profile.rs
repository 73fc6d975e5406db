//! A signed-in user's own account: changing the name and address (told to other services as
//! `user.updated`), and the password (which ends every session: a stolen refresh token dies
//! with the old password).

use microshop_auth::Principal;
use microshop_db::Db;
use microshop_messaging::outbox::Outbox;
use secrecy::SecretString;

use crate::db::refresh_tokens;
use crate::db::users::{self, UserRow};
use crate::domain::{Email, Password};
use crate::hasher::Hasher;
use crate::{Error, events};

/// Sets the name and address of the caller's account; a change is published as `user.updated`
/// (a request that changes nothing publishes nothing).
pub async fn update(
    outbox: &Outbox,
    principal: &Principal,
    email: &Email,
    name: &str,
) -> Result<UserRow, Error> {
    let mut tx = outbox.begin().await?;
    let current = users::lock(&mut *tx, principal.user_id)
        .await?
        .ok_or(Error::AccountGone)?;
    if current.email == email.as_str() && current.name == name {
        return Ok(current);
    }
    let row = users::update_profile(&mut *tx, principal.user_id, email.as_str(), name)
        .await?
        .ok_or(Error::AccountGone)?;
    tx.enqueue(&[events::updated(&row)]).await?;
    tx.commit().await?;
    Ok(row)
}

/// Replaces the caller's password after checking the current one; revokes every refresh token.
pub async fn change_password(
    db: &Db,
    hasher: &Hasher,
    principal: &Principal,
    current: SecretString,
    new: Password,
) -> Result<(), Error> {
    let user = users::find(db, principal.user_id)
        .await?
        .ok_or(Error::AccountGone)?;
    if !hasher.verify(current, Some(user.password_hash)).await? {
        return Err(Error::CurrentPasswordWrong);
    }
    let hash = hasher.hash(new).await?;
    let mut tx = db.begin().await?;
    if !users::set_password_hash(&mut *tx, user.id, &hash).await? {
        return Err(Error::AccountGone);
    }
    let revoked = refresh_tokens::revoke_user(&mut *tx, user.id).await?;
    tx.commit().await?;
    tracing::info!(
        user.id = user.id,
        sessions_ended = revoked,
        "password changed"
    );
    Ok(())
}
