//! The `users` table.

use chrono::{DateTime, Utc};
use microshop_domain::Page;
use sqlx::PgExecutor;

use crate::Error;
use crate::domain::NewUser;

/// A stored user, hash included: never serialise this type.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Lower-cased address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// `customer` or `admin`.
    pub role: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// Inserts `user` with its hash; a taken address becomes [`Error::EmailTaken`].
pub async fn insert(
    db: impl PgExecutor<'_>,
    user: &NewUser,
    password_hash: &str,
) -> Result<UserRow, Error> {
    sqlx::query_as!(
        UserRow,
        "insert into users (email, name, password_hash) values ($1, $2, $3)
         returning id, email, name, password_hash, role, created_at",
        user.email.as_str(),
        user.name,
        password_hash,
    )
    .fetch_one(db)
    .await
    .map_err(|e| {
        if microshop_db::is_unique_violation(&e, "users_email_key") {
            Error::EmailTaken(user.email.as_str().to_owned())
        } else {
            e.into()
        }
    })
}

/// Inserts the admin account `email` with `password_hash` unless the address is registered
/// already (then `None`): start-up's bootstrap, which several replicas may run at once.
pub async fn insert_admin_if_absent(
    db: impl PgExecutor<'_>,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "insert into users (email, name, password_hash, role) values ($1, $2, $3, 'admin')
         on conflict (email) do nothing
         returning id, email, name, password_hash, role, created_at",
        email,
        name,
        password_hash,
    )
    .fetch_optional(db)
    .await
}

/// Makes the account `email` an admin; `None` when there is no such account or it is an admin
/// already.
pub async fn promote_to_admin(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "update users set role = 'admin', updated_at = now() where email = $1 and role <> 'admin'
         returning id, email, name, password_hash, role, created_at",
        email,
    )
    .fetch_optional(db)
    .await
}

/// The user with `id`, locked until the transaction ends (for a change that depends on what
/// the row holds now).
pub async fn lock(db: impl PgExecutor<'_>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, name, password_hash, role, created_at from users where id = $1
         for update",
        id,
    )
    .fetch_optional(db)
    .await
}

/// Takes a lock on user `id` that writes of what belongs to the user (addresses) take too, so
/// that they happen one at a time; it does not block reads of the user, nor other rows' keys
/// referring to it. Whether the user exists.
pub async fn lock_owner(db: impl PgExecutor<'_>, id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query_scalar!("select id from users where id = $1 for no key update", id)
        .fetch_optional(db)
        .await?;
    Ok(row.is_some())
}

/// The ids of every admin, locked in id order until the transaction ends: two demotions that
/// race each wait for the other, so they cannot together leave the shop without an admin.
pub async fn lock_admins(db: impl PgExecutor<'_>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!("select id from users where role = 'admin' order by id for update")
        .fetch_all(db)
        .await
}

/// Sets the role of `id`.
pub async fn set_role(
    db: impl PgExecutor<'_>,
    id: i64,
    role: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "update users set role = $2, updated_at = now() where id = $1
         returning id, email, name, password_hash, role, created_at",
        id,
        role,
    )
    .fetch_optional(db)
    .await
}

/// The user with `id`, if any.
pub async fn find(db: impl PgExecutor<'_>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, name, password_hash, role, created_at from users where id = $1",
        id,
    )
    .fetch_optional(db)
    .await
}

/// The users with these ids (those that exist, in any order): what [`microshop_db::Lookup`]
/// asks for when reads of single users arrive together.
pub async fn find_many(db: impl PgExecutor<'_>, ids: &[i64]) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, name, password_hash, role, created_at from users where id = any($1)",
        ids,
    )
    .fetch_all(db)
    .await
}

/// The user registered with the normalised address `email`, if any.
pub async fn find_by_email(
    db: impl PgExecutor<'_>,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, name, password_hash, role, created_at from users where email = $1",
        email,
    )
    .fetch_optional(db)
    .await
}

/// One page of users, oldest first.
pub async fn list(db: impl PgExecutor<'_>, page: Page) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, name, password_hash, role, created_at from users
         order by id limit $1 offset $2",
        page.limit,
        page.offset,
    )
    .fetch_all(db)
    .await
}

/// Sets the name and address of `id`; a taken address becomes [`Error::EmailTaken`]. `None` when
/// there is no such user.
pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: i64,
    email: &str,
    name: &str,
) -> Result<Option<UserRow>, Error> {
    sqlx::query_as!(
        UserRow,
        "update users set email = $2, name = $3, updated_at = now() where id = $1
         returning id, email, name, password_hash, role, created_at",
        id,
        email,
        name,
    )
    .fetch_optional(db)
    .await
    .map_err(|e| {
        if microshop_db::is_unique_violation(&e, "users_email_key") {
            Error::EmailTaken(email.to_owned())
        } else {
            e.into()
        }
    })
}

/// Stores a new password hash for `id`; whether the user exists.
pub async fn set_password_hash(
    db: impl PgExecutor<'_>,
    id: i64,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        id,
        password_hash,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
