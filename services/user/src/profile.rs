//! A signed-in user's own account: changing the name and address, and the password (which
//! ends every session: a stolen refresh token dies with the old password).

use microshop_auth::Principal;
use microshop_db::Db;
use secrecy::SecretString;

use crate::Error;
use crate::db::refresh_tokens;
use crate::db::users::{self, UserRow};
use crate::domain::{Email, Password};
use crate::hasher::Hasher;

/// Sets the name and address of the caller's account.
pub async fn update(
    db: &Db,
    principal: &Principal,
    email: &Email,
    name: &str,
) -> Result<UserRow, Error> {
    users::update_profile(db, principal.user_id, email.as_str(), name)
        .await?
        .ok_or(Error::AccountGone)
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
