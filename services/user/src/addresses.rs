//! A user's postal addresses, the write protocols of `/api/users/addresses`. Each write locks
//! the owner's row first, so one user's writes happen one at a time: the limit of
//! [`MAX_ADDRESSES`] holds under concurrent adds, and exactly one address is the default
//! whenever there is any (the first one added becomes it; making another the default moves it in
//! the same transaction; deleting it promotes the most recently added one left). The partial
//! unique index `addresses_one_default` makes two defaults impossible whatever the code does.

use microshop_auth::Principal;
use microshop_db::Db;
use microshop_domain::Id;

use crate::Error;
use crate::db::addresses::{self, AddressRow};
use crate::db::users;
use crate::domain::Address;
use crate::domain::address::MAX_ADDRESSES;

/// The caller's addresses, the default first.
pub async fn list(db: &Db, principal: &Principal) -> Result<Vec<AddressRow>, Error> {
    Ok(addresses::list(db, principal.user_id).await?)
}

/// The caller's address `id` (another user's is not found).
pub async fn get(db: &Db, principal: &Principal, id: Id) -> Result<AddressRow, Error> {
    addresses::find(db, principal.user_id, id.get())
        .await?
        .ok_or(Error::AddressNotFound(id))
}

/// Adds `address` for the caller; it becomes the default if it is their first or if
/// `make_default` asks for it.
pub async fn add(
    db: &Db,
    principal: &Principal,
    address: &Address,
    make_default: Option<bool>,
) -> Result<AddressRow, Error> {
    let (owner, mut tx) = owners_transaction(db, principal).await?;
    let existing = addresses::count(&mut *tx, owner).await?;
    if existing >= MAX_ADDRESSES {
        return Err(Error::AddressLimitReached);
    }
    let is_default = existing == 0 || make_default == Some(true);
    if is_default {
        addresses::clear_default(&mut *tx, owner).await?;
    }
    let row = addresses::insert(&mut *tx, owner, address, is_default).await?;
    tx.commit().await?;
    Ok(row)
}

/// Replaces the fields of the caller's address `id`; `make_default: Some(true)` makes it the
/// default, `Some(false)` is refused for the default (another must become it instead), `None`
/// leaves the default alone.
pub async fn replace(
    db: &Db,
    principal: &Principal,
    id: Id,
    address: &Address,
    make_default: Option<bool>,
) -> Result<AddressRow, Error> {
    let (owner, mut tx) = owners_transaction(db, principal).await?;
    let current = addresses::find(&mut *tx, owner, id.get())
        .await?
        .ok_or(Error::AddressNotFound(id))?;
    let is_default = match make_default {
        Some(false) if current.is_default => return Err(Error::DefaultAddressRequired(id)),
        Some(true) if !current.is_default => {
            addresses::clear_default(&mut *tx, owner).await?;
            true
        }
        _ => current.is_default,
    };
    let row = addresses::update(&mut *tx, owner, id.get(), address, is_default)
        .await?
        .ok_or(Error::AddressNotFound(id))?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes the caller's address `id`; if it was the default, the most recently added one left
/// becomes the default.
pub async fn delete(db: &Db, principal: &Principal, id: Id) -> Result<(), Error> {
    let (owner, mut tx) = owners_transaction(db, principal).await?;
    let was_default = addresses::delete(&mut *tx, owner, id.get())
        .await?
        .ok_or(Error::AddressNotFound(id))?;
    if was_default {
        addresses::promote_newest(&mut *tx, owner).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A transaction holding the caller's row lock: their address writes happen one at a time.
async fn owners_transaction(
    db: &Db,
    principal: &Principal,
) -> Result<(i64, microshop_db::Transaction), Error> {
    let owner = principal.user_id;
    let mut tx = db.begin().await?;
    if !users::lock_owner(&mut *tx, owner).await? {
        return Err(Error::AccountGone);
    }
    Ok((owner, tx))
}
