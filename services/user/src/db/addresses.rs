//! The `addresses` table. Every query names the owner: another user's address is not found.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::domain::Address;

/// A stored address.
#[derive(Debug, Clone)]
pub struct AddressRow {
    /// Primary key.
    pub id: i64,
    /// Whose it is.
    pub user_id: i64,
    /// Recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Whether it is the user's default.
    pub is_default: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Every address of `user_id`: the default first, then the newest first.
pub async fn list(db: impl PgExecutor<'_>, user_id: i64) -> Result<Vec<AddressRow>, sqlx::Error> {
    sqlx::query_as!(
        AddressRow,
        "select id, user_id, name, line1, line2, city, postal_code, country, phone, is_default,
                created_at, updated_at
         from addresses where user_id = $1
         order by is_default desc, created_at desc, id desc",
        user_id,
    )
    .fetch_all(db)
    .await
}

/// How many addresses `user_id` has.
pub async fn count(db: impl PgExecutor<'_>, user_id: i64) -> Result<i64, sqlx::Error> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from addresses where user_id = $1"#,
        user_id
    )
    .fetch_one(db)
    .await?;
    Ok(count)
}

/// Address `id` of `user_id`, if it is theirs.
pub async fn find(
    db: impl PgExecutor<'_>,
    user_id: i64,
    id: i64,
) -> Result<Option<AddressRow>, sqlx::Error> {
    sqlx::query_as!(
        AddressRow,
        "select id, user_id, name, line1, line2, city, postal_code, country, phone, is_default,
                created_at, updated_at
         from addresses where id = $1 and user_id = $2",
        id,
        user_id,
    )
    .fetch_optional(db)
    .await
}

/// Stores `address` for `user_id`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    user_id: i64,
    address: &Address,
    is_default: bool,
) -> Result<AddressRow, sqlx::Error> {
    sqlx::query_as!(
        AddressRow,
        "insert into addresses
             (user_id, name, line1, line2, city, postal_code, country, phone, is_default)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         returning id, user_id, name, line1, line2, city, postal_code, country, phone,
                   is_default, created_at, updated_at",
        user_id,
        address.name,
        address.line1,
        address.line2,
        address.city,
        address.postal_code,
        address.country.as_str(),
        address.phone,
        is_default,
    )
    .fetch_one(db)
    .await
}

/// Replaces the fields of address `id` of `user_id`; `None` when it is not theirs.
pub async fn update(
    db: impl PgExecutor<'_>,
    user_id: i64,
    id: i64,
    address: &Address,
    is_default: bool,
) -> Result<Option<AddressRow>, sqlx::Error> {
    sqlx::query_as!(
        AddressRow,
        "update addresses
         set name = $3, line1 = $4, line2 = $5, city = $6, postal_code = $7, country = $8,
             phone = $9, is_default = $10, updated_at = now()
         where id = $1 and user_id = $2
         returning id, user_id, name, line1, line2, city, postal_code, country, phone,
                   is_default, created_at, updated_at",
        id,
        user_id,
        address.name,
        address.line1,
        address.line2,
        address.city,
        address.postal_code,
        address.country.as_str(),
        address.phone,
        is_default,
    )
    .fetch_optional(db)
    .await
}

/// Makes no address of `user_id` the default (before another becomes it: the unique index
/// allows one default per user at any moment).
pub async fn clear_default(db: impl PgExecutor<'_>, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update addresses set is_default = false, updated_at = now()
         where user_id = $1 and is_default",
        user_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes address `id` of `user_id`; whether it was the default, `None` when it is not theirs.
pub async fn delete(
    db: impl PgExecutor<'_>,
    user_id: i64,
    id: i64,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        "delete from addresses where id = $1 and user_id = $2 returning is_default",
        id,
        user_id,
    )
    .fetch_optional(db)
    .await
}

/// Makes the most recently added address of `user_id` the default, if there is one.
pub async fn promote_newest(db: impl PgExecutor<'_>, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update addresses set is_default = true, updated_at = now()
         where id = (select id from addresses where user_id = $1
                     order by created_at desc, id desc limit 1)",
        user_id,
    )
    .execute(db)
    .await?;
    Ok(())
}
