//! The products the order service knows, to price orders and show carts without asking the
//! product service on the hot path: its own `products` table (a read model kept up to date by
//! the product service's events, see [`crate::read_model`]), completed on demand by one call to
//! the product service's batch route for the ids it has not heard of yet.

use std::collections::HashMap;
use std::sync::Arc;

use microshop_db::Db;

use crate::db::products::{self, Fetched, ProductRow};
use crate::error::Error;
use crate::upstreams::{MAX_BATCH_IDS, ProductState, Upstreams};

/// The largest id the product service's batch route takes (18 digits); its ids come from a
/// sequence that will not reach it.
const LARGEST_PRODUCT_ID: i64 = 999_999_999_999_999_999;

/// A product as the order service knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInfo {
    /// The product service's id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Price of one unit in cents.
    pub price_cents: i64,
    /// Units on hand, as last heard (the product service's reservation decides).
    pub stock: i64,
    /// Whether it left the catalogue (no longer sold).
    pub archived: bool,
}

impl ProductInfo {
    /// The row as a product, when its stock is known.
    fn of(row: ProductRow) -> Option<Self> {
        Some(Self {
            id: row.id,
            name: row.name,
            price_cents: row.price_cents,
            stock: row.stock?,
            archived: row.archived,
        })
    }
}

/// The products the order service knows: a table of its own database kept up to date by the
/// product service's events, completed on demand by asking the product service.
#[derive(Clone)]
pub struct Catalog {
    db: Db,
    upstreams: Arc<Upstreams>,
}

impl Catalog {
    /// The read model in `db`, completed through `upstreams`.
    pub fn new(db: Db, upstreams: Arc<Upstreams>) -> Self {
        Self { db, upstreams }
    }

    /// The products of `ids` that exist (archived ones included, flagged); those the read model
    /// does not know yet are asked of the product service in one call and remembered.
    pub async fn products(&self, ids: &[i64]) -> Result<HashMap<i64, ProductInfo>, Error> {
        let mut wanted: Vec<i64> = ids.iter().copied().filter(|id| *id > 0).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut known = HashMap::with_capacity(wanted.len());
        if wanted.is_empty() {
            return Ok(known);
        }
        for row in products::find(&self.db, &wanted).await? {
            if let Some(info) = ProductInfo::of(row) {
                known.insert(info.id, info);
            }
        }
        // Ids of 19 digits are valid ids but beyond any product id the product service hands
        // out or its batch route takes: such a product does not exist.
        let missing: Vec<i64> = wanted
            .into_iter()
            .filter(|id| !known.contains_key(id) && *id <= LARGEST_PRODUCT_ID)
            .collect();
        // A cart has at most 50 lines: one call. Longer lists take one per hundred ids.
        for ids in missing.chunks(MAX_BATCH_IDS) {
            let fetched = self.fetch(ids).await?;
            for row in products::remember(&self.db, &fetched).await? {
                if let Some(info) = ProductInfo::of(row) {
                    known.insert(info.id, info);
                }
            }
        }
        Ok(known)
    }

    /// What the product service says about `ids`, keeping only the ids asked for, each once,
    /// and only values the table can hold (anything else is a bug upstream, logged).
    async fn fetch(&self, ids: &[i64]) -> Result<Vec<Fetched>, Error> {
        let answered = self.upstreams.products_batch(ids).await?;
        let mut fetched: Vec<Fetched> = answered
            .into_iter()
            .filter(|p| ids.binary_search(&p.id).is_ok())
            .filter_map(storable)
            .collect();
        fetched.sort_unstable_by_key(|p| p.id);
        fetched.dedup_by_key(|p| p.id);
        Ok(fetched)
    }
}

/// `product` as the table can hold it: a price or stock out of range is a bug upstream, logged
/// and left out.
fn storable(product: ProductState) -> Option<Fetched> {
    if product.price_cents <= 0 || product.stock < 0 {
        tracing::warn!(
            product.id = product.id,
            price_cents = product.price_cents,
            stock = product.stock,
            "the product service answered a price or stock out of range; product left out"
        );
        return None;
    }
    Some(Fetched {
        id: product.id,
        name: product.name,
        price_cents: product.price_cents,
        stock: product.stock,
        archived: product.archived,
        version: product.version,
    })
}
