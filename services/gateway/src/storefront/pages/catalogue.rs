//! `GET /`: the catalogue, searched (`?q=`), by category (`?category=`), a page at a time
//! (`?page=`).

use askama::Template;
use axum::response::Response;

use crate::storefront::api::catalog::{Category, Product, Search};
use crate::storefront::error::PageError;
use crate::storefront::form::Params;
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// Products per page.
const PAGE_SIZE: i64 = 12;

/// The product service pages no further.
const MAX_OFFSET: i64 = 10_000;

/// Longest search the product service takes.
const MAX_QUERY_CHARS: usize = 200;

/// The catalogue page.
#[derive(Template)]
#[template(path = "storefront/catalogue.html")]
pub struct CataloguePage {
    layout: Layout,
    heading: String,
    categories: Vec<CategoryLink>,
    current_category: String,
    products: Vec<Card>,
    page: i64,
    previous: Option<String>,
    next: Option<String>,
}

/// A category in the side list.
struct CategoryLink {
    name: String,
    href: String,
    count: i64,
    depth: usize,
    current: bool,
}

/// A product in the grid.
struct Card {
    id: i64,
    name: String,
    price: String,
    rating: String,
    availability: &'static str,
}

impl From<Product> for Card {
    fn from(product: Product) -> Self {
        Self {
            id: product.id,
            price: views::money(product.price),
            rating: rating(product.rating_average, product.rating_count),
            availability: if product.stock > 0 {
                "In stock"
            } else {
                "Out of stock"
            },
            name: product.name,
        }
    }
}

/// `★ 4.5 (12 reviews)`, or that there are none.
pub fn rating(average: Option<f64>, count: i64) -> String {
    match average {
        Some(average) if count > 0 => {
            let noun = if count == 1 { "review" } else { "reviews" };
            format!("★ {average:.1} ({count} {noun})")
        }
        _ => "No reviews yet".to_owned(),
    }
}

/// The catalogue.
pub async fn show(visit: Visit, params: Params) -> Result<Response, PageError> {
    let q: Option<String> = params
        .get("q")
        .map(|q| q.chars().take(MAX_QUERY_CHARS).collect());
    let category = params.get("category").map(str::to_owned);
    let page = params
        .get("page")
        .and_then(|page| page.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_OFFSET / PAGE_SIZE + 1);
    let api = visit.public_api();
    let search = Search {
        q: q.clone(),
        category: category.clone(),
        sort: None,
        limit: PAGE_SIZE + 1,
        offset: (page - 1) * PAGE_SIZE,
    };
    let (products, tree) = tokio::join!(api.products(&search), api.categories());
    let (mut products, tree) = (products?, tree?);
    let more = i64::try_from(products.len()).unwrap_or(i64::MAX) > PAGE_SIZE;
    products.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));

    let current = category.clone().unwrap_or_default();
    let mut categories = Vec::new();
    flatten(&tree, 0, &current, &mut categories);
    let heading = match (&q, categories.iter().find(|link| link.current)) {
        (Some(q), _) => format!("Results for “{q}”"),
        (None, Some(link)) => link.name.clone(),
        (None, None) => "All products".to_owned(),
    };
    let link = |page: i64| href(q.as_deref(), category.as_deref(), page);
    let mut layout = visit.layout(heading.clone());
    layout.query = q.clone().unwrap_or_default();
    views::ok(&CataloguePage {
        layout,
        heading,
        categories,
        current_category: current,
        products: products.into_iter().map(Card::from).collect(),
        page,
        previous: (page > 1).then(|| link(page - 1)),
        next: more.then(|| link(page + 1)),
    })
}

/// The tree as a list, each category after its parent.
fn flatten(tree: &[Category], depth: usize, current: &str, into: &mut Vec<CategoryLink>) {
    for category in tree {
        into.push(CategoryLink {
            name: category.name.clone(),
            href: href(None, Some(&category.slug), 1),
            count: category.product_count,
            depth: depth.min(3),
            current: category.slug == current,
        });
        flatten(&category.children, depth + 1, current, into);
    }
}

/// The catalogue's address for a search, a category and a page.
fn href(q: Option<&str>, category: Option<&str>, page: i64) -> String {
    let page = (page > 1).then(|| page.to_string());
    let pairs: Vec<(&str, &str)> = [("q", q), ("category", category), ("page", page.as_deref())]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
        .collect();
    if pairs.is_empty() {
        return "/".to_owned();
    }
    format!(
        "/?{}",
        serde_urlencoded::to_string(pairs).expect("pairs of strings encode")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_search_and_the_category() {
        assert_eq!(href(None, None, 1), "/");
        assert_eq!(href(Some("red tea"), None, 2), "/?q=red+tea&page=2");
        assert_eq!(href(None, Some("home-office"), 1), "/?category=home-office");
    }

    #[test]
    fn ratings_read_as_a_sentence() {
        assert_eq!(rating(None, 0), "No reviews yet");
        assert_eq!(rating(Some(4.26), 1), "★ 4.3 (1 review)");
        assert_eq!(rating(Some(3.0), 2), "★ 3.0 (2 reviews)");
    }
}
