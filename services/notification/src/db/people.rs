//! The read models: users and orders' buyers as their events describe them, and users'
//! preferences.

use sqlx::{PgConnection, PgExecutor};

/// A user as the notification service knows them.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// The account.
    pub id: i64,
    /// Where to write.
    pub email: String,
    /// How to greet.
    pub name: String,
    /// `customer` or `admin`.
    pub role: String,
}

/// Records `user` as their latest event describes them.
pub async fn upsert_user(conn: &mut PgConnection, user: &UserRow) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into users (id, email, name, role) values ($1, $2, $3, $4)
         on conflict (id) do update
           set email = excluded.email, name = excluded.name, role = excluded.role,
               updated_at = now()",
        user.id,
        user.email,
        user.name,
        user.role,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// User `id`, if known.
pub async fn user(db: impl PgExecutor<'_>, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "select id, email, name, role from users where id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// The admins' ids.
pub async fn admins(conn: &mut PgConnection) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!("select id from users where role = 'admin' order by id")
        .fetch_all(conn)
        .await
}

/// Records that order `order_id` is `user_id`'s.
pub async fn remember_order(
    conn: &mut PgConnection,
    order_id: i64,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into orders (id, user_id) values ($1, $2) on conflict (id) do nothing",
        order_id,
        user_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The buyer of order `order_id`, if known.
pub async fn buyer(conn: &mut PgConnection, order_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("select user_id from orders where id = $1", order_id)
        .fetch_optional(conn)
        .await
}

/// Whether `user_id` receives marketing messages (yes unless they said no).
pub async fn wants_marketing(db: impl PgExecutor<'_>, user_id: i64) -> Result<bool, sqlx::Error> {
    let chosen = sqlx::query_scalar!(
        "select marketing from preferences where user_id = $1",
        user_id
    )
    .fetch_optional(db)
    .await?;
    Ok(chosen.unwrap_or(true))
}

/// Records `user_id`'s choice about marketing messages.
pub async fn set_marketing(
    db: impl PgExecutor<'_>,
    user_id: i64,
    marketing: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into preferences (user_id, marketing) values ($1, $2)
         on conflict (user_id) do update set marketing = excluded.marketing, updated_at = now()",
        user_id,
        marketing,
    )
    .execute(db)
    .await?;
    Ok(())
}
