//! The `refresh_tokens` table: only SHA-256 hashes of the tokens, grouped in families.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A stored refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRow {
    /// Primary key.
    pub id: i64,
    /// Whose it is.
    pub user_id: i64,
    /// The chain of rotations it belongs to (one per log-in).
    pub family: Uuid,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for the next one.
    pub spent_at: Option<DateTime<Utc>>,
    /// When it (or its family) was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a new token of `family` for `user_id`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    user_id: i64,
    family: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into refresh_tokens (user_id, family, token_hash, expires_at)
         values ($1, $2, $3, $4)",
        user_id,
        family,
        token_hash,
        expires_at,
    )
    .execute(db)
    .await
    .map(drop)
}

/// The token with `token_hash`, locked until the transaction ends (two refreshes with one token
/// cannot both spend it).
pub async fn find_for_update(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as!(
        RefreshRow,
        "select id, user_id, family, expires_at, spent_at, revoked_at
         from refresh_tokens where token_hash = $1 for update",
        token_hash,
    )
    .fetch_optional(db)
    .await
}

/// The token with `token_hash`, if stored.
pub async fn find(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as!(
        RefreshRow,
        "select id, user_id, family, expires_at, spent_at, revoked_at
         from refresh_tokens where token_hash = $1",
        token_hash,
    )
    .fetch_optional(db)
    .await
}

/// Marks `id` as exchanged.
pub async fn spend(db: impl PgExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update refresh_tokens set spent_at = now() where id = $1",
        id
    )
    .execute(db)
    .await
    .map(drop)
}

/// Revokes every token of `family`; how many were still live.
pub async fn revoke_family(db: impl PgExecutor<'_>, family: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update refresh_tokens set revoked_at = now() where family = $1 and revoked_at is null",
        family
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes every token of `user_id` (log-out everywhere, a password change).
pub async fn revoke_user(db: impl PgExecutor<'_>, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update refresh_tokens set revoked_at = now() where user_id = $1 and revoked_at is null",
        user_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
