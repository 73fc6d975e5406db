//! `GET /cart` and its forms: add a product (`POST /cart/items`), change a quantity
//! (`POST /cart/items/{product_id}`), remove a line (`POST /cart/items/{product_id}/remove`).

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use microshop_http_client::UpstreamError;
use serde::Deserialize;

use super::product;
use crate::storefront::api::shopping::CartLine;
use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::Form;
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// The cart page.
#[derive(Template)]
#[template(path = "storefront/cart.html")]
pub struct CartPage {
    layout: Layout,
    lines: Vec<LineView>,
    total: String,
    error: Option<String>,
}

/// A cart line as shown.
struct LineView {
    product_id: i64,
    name: String,
    note: Option<String>,
    unit_price: String,
    quantity: i64,
    line_total: String,
}

impl From<CartLine> for LineView {
    fn from(line: CartLine) -> Self {
        let note = if !line.available {
            Some("No longer sold".to_owned())
        } else if line.stock < line.quantity {
            Some(format!("Only {} in stock", line.stock))
        } else {
            None
        };
        Self {
            product_id: line.product_id,
            name: line
                .name
                .unwrap_or_else(|| format!("Product #{}", line.product_id)),
            note,
            unit_price: line.unit_price.map_or_else(|| "—".to_owned(), views::money),
            quantity: line.quantity,
            line_total: line.line_total.map_or_else(|| "—".to_owned(), views::money),
        }
    }
}

/// The cart page, with `refused` in its alert.
async fn render(visit: &Visit, refused: Option<Refusal>) -> Result<Response, PageError> {
    visit.signed_in()?;
    let cart = visit.api().await?.cart().await?;
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    views::html(
        status,
        &CartPage {
            layout: visit.layout("Your cart"),
            lines: cart.items.into_iter().map(LineView::from).collect(),
            total: views::money(cart.subtotal),
            error: refused.map(|refused| refused.message),
        },
    )
}

/// The cart.
pub async fn show(visit: Visit) -> Result<Response, PageError> {
    render(&visit, None).await
}

/// The add-to-cart form.
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    quantity: String,
}

/// The quantity form.
#[derive(Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    quantity: String,
}

/// The remove form.
#[derive(Deserialize)]
pub struct RemoveForm {}

/// A quantity as typed; blank is one.
fn quantity(typed: &str) -> Option<i64> {
    match typed.trim() {
        "" => Some(1),
        typed => typed.parse().ok().filter(|quantity| *quantity >= 0),
    }
}

/// Adds to the cart; to the cart (or back to the product, saying why not).
pub async fn add(visit: Visit, Form(form): Form<AddForm>) -> Result<Response, PageError> {
    let product_id = views::parse_id(form.product_id.trim())?;
    let back = format!("/products/{product_id}");
    visit
        .signed_in()
        .map_err(|error| error.or_back_to(back.as_str()))?;
    let Some(quantity) = quantity(&form.quantity).filter(|quantity| *quantity > 0) else {
        let refused = Refusal::invalid("Enter a quantity of at least 1.");
        return product::render(&visit, product_id, Some(refused), String::new()).await;
    };
    let api = visit
        .api()
        .await
        .map_err(|error| error.or_back_to(back.as_str()))?;
    match api.add_to_cart(product_id, quantity).await {
        Ok(()) => Ok(views::see_other("/cart")),
        Err(error) => {
            product::render(&visit, product_id, Some(refusal(error)?), String::new()).await
        }
    }
}

/// Sets a line's quantity (0 removes it); to the cart.
pub async fn set_quantity(
    visit: Visit,
    Path(product_id): Path<String>,
    Form(form): Form<QuantityForm>,
) -> Result<Response, PageError> {
    let product_id = views::parse_id(&product_id)?;
    visit
        .signed_in()
        .map_err(|error| error.or_back_to("/cart"))?;
    let Some(quantity) = quantity(&form.quantity) else {
        return render(
            &visit,
            Some(Refusal::invalid("Enter a quantity of 0 or more.")),
        )
        .await;
    };
    let api = visit.api().await?;
    let changed = if quantity == 0 {
        api.remove_from_cart(product_id).await
    } else {
        api.set_quantity(product_id, quantity).await
    };
    match changed {
        Ok(()) => Ok(views::see_other("/cart")),
        Err(UpstreamError::NotFound { .. }) => {
            let gone = Refusal {
                status: StatusCode::NOT_FOUND,
                message: "That product is no longer in your cart.".to_owned(),
            };
            render(&visit, Some(gone)).await
        }
        Err(error) => render(&visit, Some(refusal(error)?)).await,
    }
}

/// Removes a line; to the cart.
pub async fn remove(
    visit: Visit,
    Path(product_id): Path<String>,
    Form(_): Form<RemoveForm>,
) -> Result<Response, PageError> {
    let product_id = views::parse_id(&product_id)?;
    visit
        .signed_in()
        .map_err(|error| error.or_back_to("/cart"))?;
    match visit.api().await?.remove_from_cart(product_id).await {
        // Already gone (removed in another tab): the cart is as asked.
        Ok(()) | Err(UpstreamError::NotFound { .. }) => Ok(views::see_other("/cart")),
        Err(error) => render(&visit, Some(refusal(error)?)).await,
    }
}
