//! The `reviews` and `purchases` tables, the rating totals that reviews keep on `products`, and
//! the fulfilment of reservations that shipped and delivered orders bring.

use chrono::{DateTime, Utc};
use microshop_domain::Page;
use sqlx::{PgConnection, PgExecutor};

use crate::domain::review::{RatingDelta, ReviewContent};

/// A stored review, with whether its author received the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    /// Primary key.
    pub id: i64,
    /// The product reviewed.
    pub product_id: i64,
    /// The author.
    pub user_id: i64,
    /// 1 to 5.
    pub rating: i16,
    /// Trimmed text, possibly empty.
    pub text: String,
    /// Whether the order service reported (`order.delivered`) that the author received the
    /// product; computed when read, so a delivery after the review verifies it too.
    pub verified_purchase: bool,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub updated_at: DateTime<Utc>,
}

/// What a review write needs to know of the review it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentReview {
    /// Primary key.
    pub id: i64,
    /// The product reviewed.
    pub product_id: i64,
    /// The author.
    pub user_id: i64,
    /// The rating before the write.
    pub rating: i16,
}

/// Locks product `id`'s row for the rest of the transaction; `Some(archived)` if it exists.
/// Every review write takes this lock first, so the writes to one product's reviews and rating
/// totals happen one at a time, and an archiving cannot slip between the check and the write.
pub async fn lock_product(conn: &mut PgConnection, id: i64) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select archived_at is not null as "archived!" from products where id = $1
           for no key update"#,
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Whether product `id` exists (archived or not).
pub async fn product_exists(db: impl PgExecutor<'_>, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from products where id = $1) as "exists!""#,
        id,
    )
    .fetch_one(db)
    .await
}

/// One page of product `product_id`'s reviews, newest first.
pub async fn list(
    db: impl PgExecutor<'_>,
    product_id: i64,
    page: Page,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    sqlx::query_as!(
        ReviewRow,
        r#"select r.id, r.product_id, r.user_id, r.rating, r.body as text,
                  exists(select 1 from purchases p
                         where p.user_id = r.user_id and p.product_id = r.product_id)
                      as "verified_purchase!",
                  r.created_at, r.updated_at
           from reviews r where r.product_id = $1
           order by r.created_at desc, r.id desc limit $2 offset $3"#,
        product_id,
        page.limit,
        page.offset,
    )
    .fetch_all(db)
    .await
}

/// Adds `user_id`'s review of `product_id`; `None` when they have one already.
pub async fn insert(
    conn: &mut PgConnection,
    product_id: i64,
    user_id: i64,
    content: &ReviewContent,
) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query_as!(
        ReviewRow,
        r#"with inserted as (
               insert into reviews (product_id, user_id, rating, body) values ($1, $2, $3, $4)
               on conflict (product_id, user_id) do nothing
               returning id, product_id, user_id, rating, body, created_at, updated_at
           )
           select i.id as "id!", i.product_id as "product_id!", i.user_id as "user_id!",
                  i.rating as "rating!", i.body as "text!",
                  exists(select 1 from purchases p
                         where p.user_id = i.user_id and p.product_id = i.product_id)
                      as "verified_purchase!",
                  i.created_at as "created_at!", i.updated_at as "updated_at!"
           from inserted i"#,
        product_id,
        user_id,
        content.rating.get(),
        content.text,
    )
    .fetch_optional(conn)
    .await
}

/// The product review `id` belongs to, if it exists.
pub async fn product_of(db: impl PgExecutor<'_>, id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("select product_id from reviews where id = $1", id)
        .fetch_optional(db)
        .await
}

/// Review `id`, locked for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<CurrentReview>, sqlx::Error> {
    sqlx::query_as!(
        CurrentReview,
        "select id, product_id, user_id, rating from reviews where id = $1 for update",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// `user_id`'s review of `product_id`, locked for the rest of the transaction.
pub async fn lock_by_author(
    conn: &mut PgConnection,
    product_id: i64,
    user_id: i64,
) -> Result<Option<CurrentReview>, sqlx::Error> {
    sqlx::query_as!(
        CurrentReview,
        "select id, product_id, user_id, rating from reviews
         where product_id = $1 and user_id = $2 for update",
        product_id,
        user_id,
    )
    .fetch_optional(conn)
    .await
}

/// Replaces review `id`'s rating and text.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    content: &ReviewContent,
) -> Result<ReviewRow, sqlx::Error> {
    sqlx::query_as!(
        ReviewRow,
        r#"with updated as (
               update reviews set rating = $2, body = $3, updated_at = now() where id = $1
               returning id, product_id, user_id, rating, body, created_at, updated_at
           )
           select u.id as "id!", u.product_id as "product_id!", u.user_id as "user_id!",
                  u.rating as "rating!", u.body as "text!",
                  exists(select 1 from purchases p
                         where p.user_id = u.user_id and p.product_id = u.product_id)
                      as "verified_purchase!",
                  u.created_at as "created_at!", u.updated_at as "updated_at!"
           from updated u"#,
        id,
        content.rating.get(),
        content.text,
    )
    .fetch_one(conn)
    .await
}

/// Deletes review `id`.
pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from reviews where id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds `delta` to product `product_id`'s rating totals (`rating_average` follows, a generated
/// column). Relative, so it is exact whatever else committed before it.
pub async fn add_to_totals(
    conn: &mut PgConnection,
    product_id: i64,
    delta: RatingDelta,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update products set rating_sum = rating_sum + $2, rating_count = rating_count + $3
         where id = $1",
        product_id,
        delta.sum,
        delta.count,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// That a user received a product, with one order that brought it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Purchase {
    /// The buyer.
    pub user_id: i64,
    /// The product.
    pub product_id: i64,
    /// The order.
    pub order_id: i64,
}

/// Records `purchases` (one statement; a user and product recorded already keep their first
/// order); returns how many were new.
pub async fn record_purchases(
    conn: &mut PgConnection,
    purchases: &[Purchase],
) -> Result<u64, sqlx::Error> {
    if purchases.is_empty() {
        return Ok(0);
    }
    let users: Vec<i64> = purchases.iter().map(|p| p.user_id).collect();
    let products: Vec<i64> = purchases.iter().map(|p| p.product_id).collect();
    let orders: Vec<i64> = purchases.iter().map(|p| p.order_id).collect();
    let done = sqlx::query!(
        "insert into purchases (user_id, product_id, order_id)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[])
         on conflict (user_id, product_id) do nothing",
        &users,
        &products,
        &orders,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the reservations still held for `orders` fulfilled (their units have left: a later
/// cancellation gives nothing back); returns the orders whose reservation changed.
pub async fn fulfil_reservations(
    conn: &mut PgConnection,
    orders: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        "update stock_reservations set status = 'fulfilled'
         where order_id = any($1) and status = 'held'
         returning order_id",
        orders,
    )
    .fetch_all(conn)
    .await
}
