//! Posting, editing and deleting reviews, with exact rating totals on the product.
//!
//! Every write locks the product's row first (see [`reviews::lock_product`]) and changes the
//! product's `rating_sum` and `rating_count` in the review's own transaction, by the difference
//! the write makes: the totals are exact however many customers post at once, and a failed
//! write leaves neither the review nor the totals changed. Each write returns the product whose
//! rating changed, so the caller can drop what it cached of the product once the write
//! committed. Reviews publish no events (DESIGN §5 has none).

use microshop_auth::Principal;
use microshop_db::{Db, Transaction};
use microshop_domain::{Id, Page};

use crate::Error;
use crate::catalog::Catalog;
use crate::db::reviews::{self, CurrentReview, ReviewRow};
use crate::domain::review::{RatingDelta, ReviewContent};

/// Which review a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The caller's review of this product (`/api/products/{id}/reviews/mine`).
    MineOf(Id),
    /// This review (`/api/reviews/{review_id}`): the caller's own, or any for an admin's
    /// deletion.
    Review(Id),
}

/// A review as a post or an edit left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The review, as stored.
    pub review: ReviewRow,
    /// The product whose rating the write may have changed (drop it from caches after the
    /// commit).
    pub rating_changed: Id,
}

/// One page of product `product`'s reviews, newest first; archived products' reviews too.
pub async fn list(db: &Db, product: Id, page: Page) -> Result<Vec<ReviewRow>, Error> {
    let rows = reviews::list(db, product.get(), page).await?;
    if rows.is_empty() && !reviews::product_exists(db, product.get()).await? {
        return Err(Error::ProductNotFound(product));
    }
    Ok(rows)
}

/// Posts the caller's review of `product`: one per user and product, none for an archived
/// product.
pub async fn post(
    catalog: &Catalog,
    principal: &Principal,
    product: Id,
    content: &ReviewContent,
) -> Result<Written, Error> {
    let mut tx = catalog.db().begin().await?;
    match reviews::lock_product(&mut tx, product.get()).await? {
        None => return Err(Error::ProductNotFound(product)),
        Some(true) => return Err(Error::ProductArchived(product)),
        Some(false) => {}
    }
    let review = reviews::insert(&mut tx, product.get(), principal.user_id, content)
        .await?
        .ok_or(Error::ReviewExists(product))?;
    reviews::add_to_totals(&mut tx, product.get(), RatingDelta::posted(review.rating)).await?;
    tx.commit().await?;
    catalog.products_changed(&[product.get()]).await;
    tracing::debug!(
        review.id = review.id,
        product.id = product.get(),
        "review posted"
    );
    Ok(Written {
        review,
        rating_changed: product,
    })
}

/// Replaces the rating and text of the caller's review `target` (an admin too may edit only
/// their own); refused while the product is archived.
pub async fn edit(
    catalog: &Catalog,
    principal: &Principal,
    target: Target,
    content: &ReviewContent,
) -> Result<Written, Error> {
    let Locked {
        mut tx,
        current,
        archived,
    } = locked(catalog.db(), principal, target, Access::Author).await?;
    let product = id_of(current.product_id);
    if archived {
        return Err(Error::ProductArchived(product));
    }
    let review = reviews::update(&mut tx, current.id, content).await?;
    let delta = RatingDelta::edited(current.rating, review.rating);
    if !delta.is_zero() {
        reviews::add_to_totals(&mut tx, current.product_id, delta).await?;
    }
    tx.commit().await?;
    catalog.products_changed(&[current.product_id]).await;
    tracing::debug!(
        review.id = review.id,
        product.id = current.product_id,
        "review edited"
    );
    Ok(Written {
        review,
        rating_changed: product,
    })
}

/// Deletes review `target`: the caller's own, or anyone's for an admin (moderation) when
/// addressed by id. Archived products' reviews may be deleted. Returns the product whose rating
/// totals changed.
pub async fn delete(catalog: &Catalog, principal: &Principal, target: Target) -> Result<Id, Error> {
    let Locked {
        mut tx, current, ..
    } = locked(catalog.db(), principal, target, Access::AuthorOrAdmin).await?;
    reviews::delete(&mut tx, current.id).await?;
    reviews::add_to_totals(
        &mut tx,
        current.product_id,
        RatingDelta::deleted(current.rating),
    )
    .await?;
    tx.commit().await?;
    catalog.products_changed(&[current.product_id]).await;
    tracing::debug!(
        review.id = current.id,
        product.id = current.product_id,
        moderated = current.user_id != principal.user_id,
        "review deleted"
    );
    Ok(id_of(current.product_id))
}

/// Who may change a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Its author only.
    Author,
    /// Its author, or an admin.
    AuthorOrAdmin,
}

/// A review write's transaction, holding the locks of the review's product and of the review.
struct Locked {
    tx: Transaction,
    current: CurrentReview,
    /// Whether the product is archived.
    archived: bool,
}

/// Locks `target`'s product, then the review itself (in this order, as [`post`] takes them, so
/// review writes cannot deadlock). A review the caller may not change is not found, so others'
/// reviews are not even confirmed.
async fn locked(
    db: &Db,
    principal: &Principal,
    target: Target,
    access: Access,
) -> Result<Locked, Error> {
    let (product, review) = match target {
        Target::MineOf(product) => (product, None),
        // A review never moves to another product: its product can be looked up before the lock.
        Target::Review(id) => {
            let product = reviews::product_of(db, id.get())
                .await?
                .ok_or(Error::ReviewNotFound(id))?;
            (id_of(product), Some(id))
        }
    };
    let mut tx = db.begin().await?;
    let Some(archived) = reviews::lock_product(&mut tx, product.get()).await? else {
        return Err(Error::ProductNotFound(product));
    };
    let current = match review {
        None => reviews::lock_by_author(&mut tx, product.get(), principal.user_id)
            .await?
            .ok_or(Error::NoReviewOfYours(product))?,
        Some(id) => {
            let current = reviews::lock(&mut tx, id.get())
                .await?
                .ok_or(Error::ReviewNotFound(id))?;
            let allowed = match access {
                Access::Author => current.user_id == principal.user_id,
                Access::AuthorOrAdmin => principal.may_access(current.user_id),
            };
            if !allowed {
                return Err(Error::ReviewNotFound(id));
            }
            current
        }
    };
    Ok(Locked {
        tx,
        current,
        archived,
    })
}

/// A product id read back from the database, where ids are positive.
fn id_of(product_id: i64) -> Id {
    Id::new(product_id).expect("product ids from the database are positive")
}
