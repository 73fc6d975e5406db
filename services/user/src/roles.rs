//! Changing a user's role, the write protocol of `PUT /api/users/{id}/role` (admins only): the
//! change and its `user.updated` in one transaction. The last admin cannot be demoted. The new
//! role is in the user's tokens from their next log-in or refresh; access tokens issued before
//! keep the old one until they expire (at most 15 minutes).

use microshop_auth::Role;
use microshop_domain::Id;
use microshop_messaging::outbox::Outbox;

use crate::db::users::{self, UserRow};
use crate::{Error, events};

/// Gives user `id` the role `role`; setting the role a user has already changes nothing.
pub async fn change(outbox: &Outbox, id: Id, role: Role) -> Result<UserRow, Error> {
    let mut tx = outbox.begin().await?;
    // The admins first, in id order, then the user: every role change takes its locks in this
    // order, so racing changes wait for each other instead of deadlocking.
    let admins = users::lock_admins(&mut *tx).await?;
    let user = users::lock(&mut *tx, id.get())
        .await?
        .ok_or(Error::UserNotFound(id))?;
    if user.role == role.as_str() {
        return Ok(user);
    }
    if role != Role::Admin && admins == [user.id] {
        return Err(Error::LastAdmin(id));
    }
    let row = users::set_role(&mut *tx, user.id, role.as_str())
        .await?
        .ok_or(Error::UserNotFound(id))?;
    tx.enqueue(&[events::updated(&row)]).await?;
    tx.commit().await?;
    tracing::info!(user.id = row.id, role = %role, "role changed");
    Ok(row)
}
