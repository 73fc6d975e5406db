//! Changing the category tree, the write protocols of the admin's category routes: add, change
//! (rename, re-slug, move) and delete. Moves are checked against cycles under a lock of the
//! tree's shape; a delete is refused while anything still refers to the category.

use microshop_db::{is_foreign_key_violation, is_unique_violation};

use crate::Error;
use crate::catalog::Catalog;
use crate::db::categories::{self, CategoryRow};
use crate::domain::category::CategoryDraft;

/// Adds a category.
pub async fn add(catalog: &Catalog, draft: &CategoryDraft) -> Result<CategoryRow, Error> {
    let mut tx = catalog.db().begin().await?;
    must_exist(&mut tx, "parent_id", draft.parent_id).await?;
    let row = categories::insert(&mut tx, draft)
        .await
        .map_err(|e| slug_taken(e, draft))?;
    tx.commit().await?;
    catalog.categories_changed().await;
    tracing::info!(category.id = row.id, category.slug = %row.slug, "category added");
    Ok(row)
}

/// Gives category `id` the state of `draft`.
pub async fn change(
    catalog: &Catalog,
    id: i64,
    draft: &CategoryDraft,
) -> Result<CategoryRow, Error> {
    let mut tx = catalog.db().begin().await?;
    categories::lock_tree(&mut tx).await?;
    must_exist(&mut tx, "parent_id", draft.parent_id).await?;
    if let Some(parent_id) = draft.parent_id
        && categories::is_within(&mut tx, id, parent_id).await?
    {
        return Err(Error::CategoryCycle { id, parent_id });
    }
    let row = categories::update(&mut tx, id, draft)
        .await
        .map_err(|e| slug_taken(e, draft))?
        .ok_or_else(|| Error::CategoryNotFound(id.to_string()))?;
    tx.commit().await?;
    catalog.categories_changed().await;
    tracing::info!(category.id = row.id, category.slug = %row.slug, "category changed");
    Ok(row)
}

/// Deletes category `id` if nothing refers to it.
pub async fn remove(catalog: &Catalog, id: i64) -> Result<(), Error> {
    let mut tx = catalog.db().begin().await?;
    categories::lock_tree(&mut tx).await?;
    let (products, children) = categories::dependants(&mut tx, id).await?;
    if products > 0 || children > 0 {
        return Err(Error::CategoryNotEmpty {
            id,
            products,
            children,
        });
    }
    // A product added to it meanwhile still makes the foreign key refuse: the same answer.
    match categories::delete(&mut tx, id).await {
        Ok(true) => {}
        Ok(false) => return Err(Error::CategoryNotFound(id.to_string())),
        Err(e) if is_foreign_key_violation(&e, "products_category_id_fkey") => {
            return Err(Error::CategoryNotEmpty {
                id,
                products: 1,
                children: 0,
            });
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    catalog.categories_changed().await;
    tracing::info!(category.id = id, "category deleted");
    Ok(())
}

/// Checks that `id`, sent as `field`, names a category (when there is one).
pub async fn must_exist(
    conn: &mut sqlx::PgConnection,
    field: &'static str,
    id: Option<i64>,
) -> Result<(), Error> {
    match id {
        Some(id) if !categories::exists(&mut *conn, id).await? => {
            Err(Error::UnknownCategory { field, id })
        }
        _ => Ok(()),
    }
}

fn slug_taken(error: sqlx::Error, draft: &CategoryDraft) -> Error {
    if is_unique_violation(&error, "categories_slug_key") {
        Error::SlugTaken(draft.slug.as_str().to_owned())
    } else {
        error.into()
    }
}
