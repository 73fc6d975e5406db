//! `GET /checkout`: the cart once more and where to ship it (a saved address, or a new one);
//! `POST /checkout` orders the cart (`POST /api/orders/checkout`) with the form's own
//! `Idempotency-Key`, so a form sent twice places one order, then shows the order.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use crate::storefront::api::addresses::{Address, NewAddress};
use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::Form;
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// The checkout page.
#[derive(Template)]
#[template(path = "storefront/checkout.html")]
pub struct CheckoutPage {
    layout: Layout,
    lines: Vec<SummaryLine>,
    total: String,
    addresses: Vec<AddressChoice>,
    new_checked: bool,
    address: NewAddress,
    idempotency_key: Uuid,
    error: Option<String>,
}

/// A line of the summary.
struct SummaryLine {
    name: String,
    quantity: i64,
    total: String,
}

/// A saved address to choose.
struct AddressChoice {
    id: i64,
    text: String,
    checked: bool,
}

/// An address on one line.
pub fn one_line(address: &Address) -> String {
    let mut parts = vec![address.name.as_str(), address.line1.as_str()];
    if let Some(line2) = address.line2.as_deref().filter(|line| !line.is_empty()) {
        parts.push(line2);
    }
    let city = format!("{} {}", address.postal_code, address.city);
    parts.push(&city);
    parts.push(&address.country);
    parts.join(", ")
}

/// The checkout form.
#[derive(Debug, Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    address_id: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(flatten)]
    address: NewAddress,
}

/// The checkout page as `form` left it, with `refused` in its alert.
async fn render(
    visit: &Visit,
    form: Option<CheckoutForm>,
    refused: Option<Refusal>,
) -> Result<Response, PageError> {
    visit.signed_in()?;
    let api = visit.api().await?;
    let (cart, addresses) = tokio::join!(api.cart(), api.addresses());
    let (cart, addresses) = (cart?, addresses?);
    let chosen = form.as_ref().map(|form| form.address_id.trim().to_owned());
    let addresses: Vec<AddressChoice> = addresses
        .iter()
        .map(|address| AddressChoice {
            id: address.id,
            text: one_line(address),
            checked: chosen.as_ref().map_or(address.is_default, |chosen| {
                *chosen == address.id.to_string()
            }),
        })
        .collect();
    let new_checked = !addresses.iter().any(|address| address.checked);
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    views::html(
        status,
        &CheckoutPage {
            layout: visit.layout("Checkout"),
            lines: cart
                .items
                .into_iter()
                .map(|line| SummaryLine {
                    name: line
                        .name
                        .unwrap_or_else(|| format!("Product #{}", line.product_id)),
                    quantity: line.quantity,
                    total: line.line_total.map_or_else(|| "—".to_owned(), views::money),
                })
                .collect(),
            total: views::money(cart.subtotal),
            addresses,
            new_checked,
            address: form.map(|form| form.address).unwrap_or_default(),
            // A new key for every form shown: a refused order's key is not reused.
            idempotency_key: Uuid::new_v4(),
            error: refused.map(|refused| refused.message),
        },
    )
}

/// The checkout page.
pub async fn show(visit: Visit) -> Result<Response, PageError> {
    render(&visit, None, None).await
}

/// Orders the cart; to the order.
pub async fn place(visit: Visit, Form(form): Form<CheckoutForm>) -> Result<Response, PageError> {
    visit
        .signed_in()
        .map_err(|error| error.or_back_to("/checkout"))?;
    let api = visit.api().await?;
    let key = Uuid::parse_str(form.idempotency_key.trim()).unwrap_or_else(|_| Uuid::new_v4());
    let address_id = match form.address_id.trim() {
        "" if form.address.is_blank() => {
            let refused = Refusal::invalid("Choose an address or enter a new one.");
            return render(&visit, Some(form), Some(refused)).await;
        }
        "" => match api.save_address(&form.address).await {
            Ok(id) => id,
            Err(error) => return render(&visit, Some(form), Some(refusal(error)?)).await,
        },
        chosen => views::parse_id(chosen)
            .map_err(|_| PageError::BadRequest("That address cannot be chosen.".to_owned()))?,
    };
    match api.check_out(address_id, key).await {
        Ok(order) => Ok(views::see_other(&format!("/orders/{}", order.id))),
        Err(error) => render(&visit, Some(form), Some(refusal(error)?)).await,
    }
}
