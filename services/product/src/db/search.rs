//! Catalogue listings and search: one statement per query, built from its filters, over live
//! (not archived) products only. Every filter and order is backed by an index of the catalog
//! migration; `docs/search-plans.md` shows the plans at 100,000 products.
//!
//! Words match in two ways at once: full-text search (stemmed, so "laptops" finds "Laptop";
//! ranked with `ts_rank_cd`, the name weighing more than the description) and trigram word
//! similarity on the name (`<%`, so a typo such as "labtop" still finds "Laptop").

use sqlx::{Postgres, QueryBuilder};

use crate::db::products::ProductRow;
use crate::domain::search::{Search, Sort};

/// How similar a word of the query must be to a word of a name to match it (`pg_trgm`'s
/// `word_similarity`, 0 to 1). `pg_trgm`'s default (0.6) misses one-letter typos in short words
/// ("labtop" is 0.4 from "laptop").
const WORD_SIMILARITY_THRESHOLD: &str = "0.4";

/// The page of live products matching `search`; `categories` is the subtree its category filter
/// named (already resolved), if any.
pub async fn products(
    db: &microshop_db::Db,
    search: &Search,
    categories: Option<&[i64]>,
) -> Result<Vec<ProductRow>, sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "select id, name, description, price_cents, stock, category_id, version, archived_at,
                rating_average::float8 as rating_average, rating_count, created_at, updated_at
         from products where archived_at is null",
    );
    if let Some(words) = &search.words {
        query
            .push(" and (search @@ websearch_to_tsquery('english', ")
            .push_bind(words.clone())
            .push(") or ")
            .push_bind(words.clone())
            .push(" <% name)");
    }
    if let Some(ids) = categories {
        query
            .push(" and category_id = any(")
            .push_bind(ids.to_vec())
            .push(")");
    }
    if let Some(min) = search.min_price {
        query.push(" and price_cents >= ").push_bind(min.cents());
    }
    if let Some(max) = search.max_price {
        query.push(" and price_cents <= ").push_bind(max.cents());
    }
    match search.in_stock {
        Some(true) => query.push(" and stock > 0"),
        Some(false) => query.push(" and stock = 0"),
        None => &mut query,
    };
    query.push(" order by ");
    match (search.sort, &search.words) {
        (Sort::Relevance, Some(words)) => query
            .push("ts_rank_cd(search, websearch_to_tsquery('english', ")
            .push_bind(words.clone())
            .push(")) + word_similarity(")
            .push_bind(words.clone())
            .push(", name) desc, id"),
        (Sort::Price, _) => query.push("price_cents, id"),
        (Sort::PriceDescending, _) => query.push("price_cents desc, id desc"),
        (Sort::Name, _) => query.push("name, id"),
        (Sort::Newest, _) => query.push("created_at desc, id desc"),
        (Sort::Rating, _) => query.push("rating_average desc nulls last, id"),
        (Sort::Oldest | Sort::Relevance, _) => query.push("id"),
    };
    query
        .push(" limit ")
        .push_bind(search.page.limit)
        .push(" offset ")
        .push_bind(search.page.offset);

    if search.words.is_none() {
        return query.build_query_as::<ProductRow>().fetch_all(db).await;
    }
    // The threshold is a session setting: set for this transaction only.
    let mut tx = db.begin().await?;
    sqlx::query_scalar!(
        "select set_config('pg_trgm.word_similarity_threshold', $1, true)",
        WORD_SIMILARITY_THRESHOLD
    )
    .fetch_one(&mut *tx)
    .await?;
    let rows = query
        .build_query_as::<ProductRow>()
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}
