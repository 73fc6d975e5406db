//! The `categories` table.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::domain::category::CategoryDraft;

/// A stored category.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    /// Primary key.
    pub id: i64,
    /// The category it sits in.
    pub parent_id: Option<i64>,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A category with the number of live (not archived) products directly in it.
#[derive(Debug, Clone)]
pub struct CategoryCount {
    /// Primary key.
    pub id: i64,
    /// The category it sits in.
    pub parent_id: Option<i64>,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Live products whose category this is (sub-categories not included).
    pub products: i64,
}

/// Every category with its own product count, by name.
pub async fn with_counts(db: impl PgExecutor<'_>) -> Result<Vec<CategoryCount>, sqlx::Error> {
    sqlx::query_as!(
        CategoryCount,
        r#"select c.id, c.parent_id, c.slug, c.name, coalesce(n.products, 0) as "products!"
           from categories c
           left join (select category_id, count(*) as products from products
                      where archived_at is null and category_id is not null
                      group by category_id) n on n.category_id = c.id
           order by c.name, c.id"#,
    )
    .fetch_all(db)
    .await
}

/// Adds a category.
pub async fn insert(
    conn: &mut PgConnection,
    draft: &CategoryDraft,
) -> Result<CategoryRow, sqlx::Error> {
    sqlx::query_as!(
        CategoryRow,
        "insert into categories (name, slug, parent_id) values ($1, $2, $3)
         returning id, parent_id, slug, name, created_at, updated_at",
        draft.name,
        draft.slug.as_str(),
        draft.parent_id,
    )
    .fetch_one(conn)
    .await
}

/// Gives category `id` the state of `draft`; `None` when there is no such category.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    draft: &CategoryDraft,
) -> Result<Option<CategoryRow>, sqlx::Error> {
    sqlx::query_as!(
        CategoryRow,
        "update categories set name = $2, slug = $3, parent_id = $4, updated_at = now()
         where id = $1
         returning id, parent_id, slug, name, created_at, updated_at",
        id,
        draft.name,
        draft.slug.as_str(),
        draft.parent_id,
    )
    .fetch_optional(conn)
    .await
}

/// Deletes category `id`; whether it existed. Fails with a foreign-key violation while products
/// or sub-categories refer to it.
pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!("delete from categories where id = $1", id)
        .execute(conn)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// How many products (archived ones too) and sub-categories refer to category `id`.
pub async fn dependants(conn: &mut PgConnection, id: i64) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select (select count(*) from products where category_id = $1) as "products!",
                  (select count(*) from categories where parent_id = $1) as "children!""#,
        id,
    )
    .fetch_one(conn)
    .await?;
    Ok((row.products, row.children))
}

/// Whether category `id` exists.
pub async fn exists(db: impl PgExecutor<'_>, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from categories where id = $1) as "exists!""#,
        id
    )
    .fetch_one(db)
    .await
}

/// Whether `candidate` is `ancestor` or lies below it: moving `ancestor` under `candidate`
/// would make a cycle.
pub async fn is_within(
    conn: &mut PgConnection,
    ancestor: i64,
    candidate: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"with recursive below (id) as (
               select $1::bigint
               union
               select c.id from categories c join below b on c.parent_id = b.id
           )
           select exists (select 1 from below where id = $2) as "within!""#,
        ancestor,
        candidate,
    )
    .fetch_one(conn)
    .await
}

/// Serialises changes of the tree's shape, so two concurrent moves cannot together make a
/// cycle that neither makes alone. Category writes are rare admin actions; reads are not
/// blocked.
pub async fn lock_tree(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("lock table categories in share row exclusive mode")
        .execute(conn)
        .await?;
    Ok(())
}

/// The ids of the category named by `id_or_slug` and of every category below it; `None` when
/// there is no such category.
pub async fn subtree(
    db: impl PgExecutor<'_>,
    id_or_slug: &str,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let id: Option<i64> = id_or_slug.parse().ok();
    let ids: Vec<i64> = sqlx::query_scalar!(
        r#"with recursive below (id) as (
               select id from categories where id = $1 or ($1 is null and slug = $2)
               union
               select c.id from categories c join below b on c.parent_id = b.id
           )
           select id as "id!" from below"#,
        id,
        id_or_slug,
    )
    .fetch_all(db)
    .await?;
    Ok((!ids.is_empty()).then_some(ids))
}
