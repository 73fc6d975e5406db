//! `GET /orders` (the user's orders), `GET /orders/{id}` (status, lines, timeline, payment),
//! `POST /orders/{id}/pay` (to the payment's page) and `POST /orders/{id}/cancel`. The list and
//! its paging are shared with the admin pages.

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::order_view::{self, OrderView};
use crate::storefront::api::orders::{Order, Payment};
use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::{Form, Params};
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// Orders per page of a list.
pub const PAGE_SIZE: i64 = 50;

/// The order service pages no further.
const MAX_OFFSET: i64 = 10_000;

/// An order page (the buyer's).
#[derive(Template)]
#[template(path = "storefront/order.html")]
pub struct OrderPage {
    layout: Layout,
    order: OrderView,
    error: Option<String>,
}

/// A list of orders (the buyer's, or all of them for an admin).
#[derive(Template)]
#[template(path = "storefront/orders.html")]
pub struct OrdersPage {
    /// The header.
    pub layout: Layout,
    /// The heading.
    pub heading: &'static str,
    /// Whether it is the admin list (with the status filter).
    pub admin: bool,
    /// The filter's choices.
    pub statuses: Vec<StatusOption>,
    /// The orders.
    pub rows: Vec<OrderRow>,
    /// The page before.
    pub previous: Option<String>,
    /// The page after.
    pub next: Option<String>,
}

/// A choice of the status filter.
pub struct StatusOption {
    /// The query value (empty: every status).
    pub value: &'static str,
    /// What the user reads.
    pub label: &'static str,
    /// Chosen now.
    pub selected: bool,
}

/// An order in a list.
pub struct OrderRow {
    id: i64,
    href: String,
    status: String,
    total: String,
    placed: String,
}

impl OrderRow {
    /// `order`, linking to `href`.
    pub fn new(order: &Order, href: String) -> Self {
        Self {
            id: order.id,
            href,
            status: order.status.clone(),
            total: views::money(order.total_price),
            placed: views::when(&order.created_at),
        }
    }
}

/// The next and previous pages of a list at `page` with `more` after it.
pub fn pager(
    page: i64,
    more: bool,
    link: impl Fn(i64) -> String,
) -> (Option<String>, Option<String>) {
    (
        (page > 1).then(|| link(page - 1)),
        more.then(|| link(page + 1)),
    )
}

/// `?page=` of a list, at least 1 and within what the services page.
pub fn page_number(params: &Params) -> i64 {
    params
        .get("page")
        .and_then(|page| page.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_OFFSET / PAGE_SIZE + 1)
}

/// The user's own orders, newest first.
pub async fn list(visit: Visit, params: Params) -> Result<Response, PageError> {
    let user = visit.signed_in()?;
    let page = page_number(&params);
    let mut orders = visit
        .api()
        .await?
        .orders(Some(user.id), None, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let more = orders.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    orders.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let (previous, next) = pager(page, more, |page| format!("/orders?page={page}"));
    views::ok(&OrdersPage {
        layout: visit.layout("My orders"),
        heading: "My orders",
        admin: false,
        statuses: Vec::new(),
        rows: orders
            .iter()
            .map(|order| OrderRow::new(order, format!("/orders/{}", order.id)))
            .collect(),
        previous,
        next,
    })
}

/// The order page, with `refused` in its alert.
async fn render(visit: &Visit, id: i64, refused: Option<Refusal>) -> Result<Response, PageError> {
    visit.signed_in()?;
    let order = order_view::load(&visit.api().await?, id).await?;
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    views::html(
        status,
        &OrderPage {
            layout: visit.layout(format!("Order #{id}")),
            order,
            error: refused.map(|refused| refused.message),
        },
    )
}

/// An order.
pub async fn show(visit: Visit, Path(id): Path<String>) -> Result<Response, PageError> {
    render(&visit, views::parse_id(&id)?, None).await
}

/// The pay and cancel forms.
#[derive(Deserialize)]
pub struct ActionForm {}

/// To the page where the order is paid (the payment opened if need be).
pub async fn pay(
    visit: Visit,
    Path(id): Path<String>,
    Form(_): Form<ActionForm>,
) -> Result<Response, PageError> {
    let id = views::parse_id(&id)?;
    visit.signed_in()?;
    match visit.api().await?.pay(id).await {
        Ok(Payment {
            checkout_url: Some(url),
            ..
        }) if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(views::see_other(&url))
        }
        Ok(_) => {
            let refused = Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "The payment page is not ready yet; please try again shortly.".to_owned(),
            };
            render(&visit, id, Some(refused)).await
        }
        Err(error) => render(&visit, id, Some(refusal(error)?)).await,
    }
}

/// Cancels the order; back to it.
pub async fn cancel(
    visit: Visit,
    Path(id): Path<String>,
    Form(_): Form<ActionForm>,
) -> Result<Response, PageError> {
    let id = views::parse_id(&id)?;
    visit.signed_in()?;
    match visit.api().await?.cancel(id).await {
        Ok(()) => Ok(views::see_other(&format!("/orders/{id}"))),
        Err(error) => render(&visit, id, Some(refusal(error)?)).await,
    }
}
