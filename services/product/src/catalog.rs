//! The catalogue as customers read it (a product by id, the category tree, listings and search)
//! and the one place writers report what they changed, after their commit, so that what is read
//! next is never older than what was written.

use std::collections::HashMap;
use std::sync::Arc;

use microshop_cache::{Cache, Invalidation, Scope, Space};
use microshop_db::{Db, Lookup};
use microshop_messaging::outbox::Outbox;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::db::categories::{self, CategoryCount};
use crate::db::products::{self, ProductRow};
use crate::db::search;
use crate::domain::search::Search;

/// Reads of the catalogue, and the database and outbox its writers use. Cheap to clone.
///
/// Reads go through the read cache ([`microshop_cache`]: in-process, then Redis, then
/// PostgreSQL): products by id, the category tree, and the first page of listings without
/// search words (the pages every visitor opens). Writers call [`Catalog::products_changed`],
/// [`Catalog::catalog_changed`] or [`Catalog::categories_changed`] after their commit and
/// before they answer, so what the same client reads next is never older than its write.
///
/// Cloned for every request (axum hands each handler its own copy of the state): one reference
/// count, not one per part. Cloning each part's handles (pools, cache spaces, their metrics)
/// cost a tenth of the service's CPU under load, every count shared between the cores.
#[derive(Clone)]
pub struct Catalog(Arc<Parts>);

struct Parts {
    db: Db,
    outbox: Outbox,
    products: Lookup<ProductRow>,
    cache: Cache,
    cached_products: Space<ProductRow>,
    cached_listings: Space<Vec<ProductRow>>,
    cached_tree: Space<Vec<CategoryNode>>,
}

impl Catalog {
    /// The catalogue in `db`, whose events leave through `outbox`, read through `cache`.
    pub fn new(db: Db, outbox: Outbox, cache: &Cache) -> Self {
        let products = Lookup::new(
            db.clone(),
            |row: &ProductRow| row.id,
            |db, id| async move { products::find(&db, id).await },
            |db, ids| async move { products::find_many(&db, &ids).await },
        );
        Self(Arc::new(Parts {
            db,
            outbox,
            products,
            cache: cache.clone(),
            cached_products: cache.space("product", Scope::PerKey),
            cached_listings: cache.space("listing", Scope::Whole),
            cached_tree: cache.space("category-tree", Scope::Whole),
        }))
    }

    /// `products_db`.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// Where writers begin transactions that publish events.
    pub fn outbox(&self) -> &Outbox {
        &self.0.outbox
    }

    /// The product with `id`, archived or not.
    pub async fn product(&self, id: i64) -> Result<Option<Arc<ProductRow>>, Error> {
        self.0
            .cached_products
            .get_or_load(&id.to_string(), || self.product_now(id))
            .await
    }

    /// The product with `id` as PostgreSQL has it now, never from the cache (what another
    /// service decides on).
    pub async fn product_now(&self, id: i64) -> Result<Option<ProductRow>, Error> {
        Ok(self.0.products.get(id).await?)
    }

    /// The products with `ids` that exist (archived ones too), by id, as PostgreSQL has them
    /// now, never from the cache: what another service keeps its own copy of.
    pub async fn products_now(&self, ids: &[i64]) -> Result<Vec<ProductRow>, Error> {
        let mut rows = products::find_many(&self.0.db, ids).await?;
        rows.sort_unstable_by_key(|row| row.id);
        Ok(rows)
    }

    /// The category tree with product counts.
    pub async fn category_tree(&self) -> Result<Arc<Vec<CategoryNode>>, Error> {
        let tree = self
            .0
            .cached_tree
            .get_or_load("tree", || async {
                Ok::<_, Error>(Some(tree(categories::with_counts(&self.0.db).await?)))
            })
            .await?;
        Ok(tree.unwrap_or_default())
    }

    /// The page of live products `search` asks for; 404 when its category does not exist. The
    /// first page of a listing without words is cached: its key is the whole query.
    pub async fn search(&self, search: &Search) -> Result<Arc<Vec<ProductRow>>, Error> {
        if search.words.is_some() || search.page.offset > 0 {
            return Ok(Arc::new(self.search_now(search).await?));
        }
        let key = format!("{search:?}");
        let rows = self
            .0
            .cached_listings
            .get_or_load(&key, || async { self.search_now(search).await.map(Some) })
            .await?;
        Ok(rows.unwrap_or_default())
    }

    async fn search_now(&self, search: &Search) -> Result<Vec<ProductRow>, Error> {
        let subtree = match &search.category {
            Some(category) => Some(
                categories::subtree(&self.0.db, category)
                    .await?
                    .ok_or_else(|| Error::CategoryNotFound(category.clone()))?,
            ),
            None => None,
        };
        Ok(search::products(&self.0.db, search, subtree.as_deref()).await?)
    }

    /// Called by writers after their commit: the stock or ratings of `ids` changed, which
    /// products and listings show.
    pub async fn products_changed(&self, ids: &[i64]) {
        self.0
            .cache
            .invalidate_many(&[self.products_keyed(ids), self.0.cached_listings.all()])
            .await;
    }

    /// Called by writers after their commit: `ids` were added, edited or archived, which also
    /// changes the category tree's counts.
    pub async fn catalog_changed(&self, ids: &[i64]) {
        self.0
            .cache
            .invalidate_many(&[
                self.products_keyed(ids),
                self.0.cached_listings.all(),
                self.0.cached_tree.all(),
            ])
            .await;
    }

    /// The cached products `ids`, for an invalidation.
    fn products_keyed(&self, ids: &[i64]) -> Invalidation {
        let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.0.cached_products.keys(&keys)
    }

    /// Called by writers after their commit: the category tree changed (which also changes
    /// what a listing's category filter covers).
    pub async fn categories_changed(&self) {
        self.0
            .cache
            .invalidate_many(&[self.0.cached_tree.all(), self.0.cached_listings.all()])
            .await;
    }
}

/// A category in the tree, with what lies below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CategoryNode {
    /// Primary key.
    pub id: i64,
    /// URL name (`?category=` takes it, or the id).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The category it sits in.
    pub parent_id: Option<i64>,
    /// Live products in this category and every category below it.
    pub product_count: i64,
    /// Categories directly below, by name.
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

/// Arranges `rows` (sorted by name) into trees whose counts include their sub-categories.
fn tree(rows: Vec<CategoryCount>) -> Vec<CategoryNode> {
    let mut children: HashMap<Option<i64>, Vec<CategoryCount>> = HashMap::new();
    for row in rows {
        children.entry(row.parent_id).or_default().push(row);
    }
    below(None, &mut children)
}

fn below(
    parent: Option<i64>,
    children: &mut HashMap<Option<i64>, Vec<CategoryCount>>,
) -> Vec<CategoryNode> {
    let rows = children.remove(&parent).unwrap_or_default();
    rows.into_iter()
        .map(|row| {
            let nodes = below(Some(row.id), children);
            let product_count = row.products + nodes.iter().map(|c| c.product_count).sum::<i64>();
            CategoryNode {
                id: row.id,
                slug: row.slug,
                name: row.name,
                parent_id: row.parent_id,
                product_count,
                children: nodes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, parent_id: Option<i64>, products: i64) -> CategoryCount {
        CategoryCount {
            id,
            parent_id,
            slug: format!("c{id}"),
            name: format!("C{id}"),
            products,
        }
    }

    #[test]
    fn counts_include_every_category_below() {
        let nodes = tree(vec![
            row(1, None, 1),
            row(2, Some(1), 2),
            row(3, Some(2), 4),
            row(4, None, 0),
        ]);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].product_count, 7);
        assert_eq!(nodes[0].children[0].product_count, 6);
        assert_eq!(nodes[0].children[0].children[0].product_count, 4);
        assert_eq!(nodes[1].product_count, 0);
    }
}
