//! The administrators' pages: `GET /admin/orders` (every order, `?status=` filter),
//! `GET /admin/orders/{id}` with `POST /admin/orders/{id}/status` (ship with a tracking number,
//! deliver), `GET /admin/inventory` with `POST /admin/inventory/{product_id}` (restock).
//! Customers get a 403 page; visitors are sent to sign in.

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::order_view::{self, OrderView};
use super::orders::{self, OrderRow, OrdersPage, StatusOption};
use crate::storefront::api::catalog::Search;
use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::{Form, Params};
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// Orders per page of the admin list.
const ORDERS_PER_PAGE: i64 = 50;

/// Products per page of the inventory.
const PRODUCTS_PER_PAGE: i64 = 50;

/// The statuses of the filter, `""` for all.
const STATUSES: [(&str, &str); 8] = [
    ("", "All"),
    ("PENDING", "Pending"),
    ("CONFIRMED", "Confirmed"),
    ("PAID", "Paid"),
    ("SHIPPED", "Shipped"),
    ("DELIVERED", "Delivered"),
    ("CANCELLED", "Cancelled"),
    ("REJECTED", "Rejected"),
];

/// An order as an admin sees it.
#[derive(Template)]
#[template(path = "storefront/admin_order.html")]
pub struct AdminOrderPage {
    layout: Layout,
    order: OrderView,
    tracking_draft: String,
    error: Option<String>,
}

/// The inventory.
#[derive(Template)]
#[template(path = "storefront/inventory.html")]
pub struct InventoryPage {
    layout: Layout,
    rows: Vec<StockRow>,
    return_query: String,
    previous: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

/// A product's stock.
struct StockRow {
    id: i64,
    name: String,
    price: String,
    stock: i64,
}

/// Every order, oldest first (the order they wait in), of one status when `?status=` names
/// one (the order service filters).
pub async fn orders(visit: Visit, params: Params) -> Result<Response, PageError> {
    visit.admin()?;
    let status = params
        .get("status")
        .and_then(|wanted| STATUSES.iter().find(|(value, _)| *value == wanted))
        .map_or("", |(value, _)| *value);
    let page = orders::page_number(&params);
    let offset = (page - 1) * ORDERS_PER_PAGE;
    // One more than a page: whether there is a next one.
    let mut listed = visit
        .api()
        .await?
        .orders(
            None,
            Some(status).filter(|status| !status.is_empty()),
            ORDERS_PER_PAGE + 1,
            offset,
        )
        .await?;
    let more = listed.len() > usize::try_from(ORDERS_PER_PAGE).unwrap_or(usize::MAX);
    listed.truncate(usize::try_from(ORDERS_PER_PAGE).unwrap_or(usize::MAX));
    let rows = listed
        .iter()
        .map(|order| OrderRow::new(order, format!("/admin/orders/{}", order.id)))
        .collect();
    let (previous, next) = orders::pager(page, more, |page| {
        let status = if status.is_empty() {
            String::new()
        } else {
            format!("status={status}&")
        };
        format!("/admin/orders?{status}page={page}")
    });
    views::ok(&OrdersPage {
        layout: visit.layout("All orders"),
        heading: "All orders",
        admin: true,
        statuses: STATUSES
            .iter()
            .map(|(value, label)| StatusOption {
                value,
                label,
                selected: *value == status,
            })
            .collect(),
        rows,
        previous,
        next,
    })
}

/// The order page of an admin, with `refused` in its alert.
async fn render_order(
    visit: &Visit,
    id: i64,
    tracking_draft: String,
    refused: Option<Refusal>,
) -> Result<Response, PageError> {
    visit.admin()?;
    let order = order_view::load(&visit.api().await?, id).await?;
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    views::html(
        status,
        &AdminOrderPage {
            layout: visit.layout(format!("Order #{id}")),
            order,
            tracking_draft,
            error: refused.map(|refused| refused.message),
        },
    )
}

/// An order, to ship or deliver.
pub async fn order(visit: Visit, Path(id): Path<String>) -> Result<Response, PageError> {
    render_order(&visit, views::parse_id(&id)?, String::new(), None).await
}

/// The ship and deliver forms.
#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    tracking_number: String,
}

/// Ships (with a tracking number) or delivers the order; back to it.
pub async fn set_status(
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let id = views::parse_id(&id)?;
    visit.admin()?;
    let tracking = form.tracking_number.trim();
    let tracking = match form.status.as_str() {
        "SHIPPED" if tracking.is_empty() => {
            let refused = Refusal::invalid("Enter the parcel's tracking number.");
            return render_order(&visit, id, String::new(), Some(refused)).await;
        }
        "SHIPPED" => Some(tracking),
        "DELIVERED" => None,
        _ => {
            return Err(PageError::BadRequest(
                "An order can be marked shipped or delivered here.".to_owned(),
            ));
        }
    };
    match visit
        .api()
        .await?
        .set_status(id, &form.status, tracking)
        .await
    {
        Ok(()) => Ok(views::see_other(&format!("/admin/orders/{id}"))),
        Err(error) => {
            let draft = tracking.unwrap_or_default().to_owned();
            render_order(&visit, id, draft, Some(refusal(error)?)).await
        }
    }
}

/// The inventory at `page`, with `refused` in its alert.
async fn render_inventory(
    visit: &Visit,
    page: i64,
    refused: Option<Refusal>,
) -> Result<Response, PageError> {
    visit.admin()?;
    let search = Search {
        sort: Some("name"),
        limit: PRODUCTS_PER_PAGE + 1,
        offset: (page - 1) * PRODUCTS_PER_PAGE,
        ..Search::default()
    };
    let mut products = visit.api().await?.products(&search).await?;
    let more = products.len() > usize::try_from(PRODUCTS_PER_PAGE).unwrap_or(usize::MAX);
    products.truncate(usize::try_from(PRODUCTS_PER_PAGE).unwrap_or(usize::MAX));
    let (previous, next) =
        orders::pager(page, more, |page| format!("/admin/inventory?page={page}"));
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    views::html(
        status,
        &InventoryPage {
            layout: visit.layout("Inventory"),
            rows: products
                .into_iter()
                .map(|product| StockRow {
                    id: product.id,
                    price: views::money(product.price),
                    stock: product.stock,
                    name: product.name,
                })
                .collect(),
            return_query: if page > 1 {
                format!("?page={page}")
            } else {
                String::new()
            },
            previous,
            next,
            error: refused.map(|refused| refused.message),
        },
    )
}

/// Every product with its stock, by name.
pub async fn inventory(visit: Visit, params: Params) -> Result<Response, PageError> {
    render_inventory(&visit, inventory_page(&params), None).await
}

/// `?page=` of the inventory.
fn inventory_page(params: &Params) -> i64 {
    params
        .get("page")
        .and_then(|page| page.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 10_000 / PRODUCTS_PER_PAGE + 1)
}

/// The restock form.
#[derive(Deserialize)]
pub struct StockForm {
    #[serde(default)]
    stock: String,
}

/// Sets a product's stock; back to the inventory page it was on.
pub async fn set_stock(
    visit: Visit,
    Path(product_id): Path<String>,
    params: Params,
    Form(form): Form<StockForm>,
) -> Result<Response, PageError> {
    let product_id = views::parse_id(&product_id)?;
    visit.admin()?;
    let page = inventory_page(&params);
    let Some(stock) = form
        .stock
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|stock| *stock >= 0)
    else {
        let refused = Refusal::invalid("Enter a stock of 0 or more.");
        return render_inventory(&visit, page, Some(refused)).await;
    };
    match visit.api().await?.set_stock(product_id, stock).await {
        Ok(()) if page > 1 => Ok(views::see_other(&format!("/admin/inventory?page={page}"))),
        Ok(()) => Ok(views::see_other("/admin/inventory")),
        Err(error) => render_inventory(&visit, page, Some(refusal(error)?)).await,
    }
}
