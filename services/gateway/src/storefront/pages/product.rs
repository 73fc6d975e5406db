//! `GET /products/{id}`: a product, its reviews, the add-to-cart form and the review form;
//! `POST /products/{id}/reviews` posts a review.

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::catalogue::rating;
use crate::storefront::api::catalog::{Product, Review};
use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::Form;
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// The product page.
#[derive(Template)]
#[template(path = "storefront/product.html")]
pub struct ProductPage {
    layout: Layout,
    id: i64,
    name: String,
    description: String,
    price: String,
    stock: String,
    rating: String,
    buyable: bool,
    reviews: Vec<ReviewView>,
    error: Option<String>,
    draft: String,
    sign_in_href: String,
}

/// A review as shown.
struct ReviewView {
    user_id: i64,
    rating: i64,
    stars: String,
    text: String,
    verified: bool,
    when: String,
}

impl From<Review> for ReviewView {
    fn from(review: Review) -> Self {
        Self {
            user_id: review.user_id,
            rating: review.rating,
            stars: views::stars(review.rating),
            text: review.text,
            verified: review.verified_purchase,
            when: views::when(&review.created_at),
        }
    }
}

/// The product page, with `refused` in its alert and `draft` in the review box when a form
/// was refused.
pub async fn render(
    visit: &Visit,
    id: i64,
    refused: Option<Refusal>,
    draft: String,
) -> Result<Response, PageError> {
    let api = visit.public_api();
    let (product, reviews) = tokio::join!(api.product(id), api.reviews(id));
    let (product, reviews): (Product, Vec<Review>) = (product?, reviews?);
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    let stock = match product.stock {
        0 => "Out of stock".to_owned(),
        stock => format!("In stock: {stock}"),
    };
    views::html(
        status,
        &ProductPage {
            layout: visit.layout(product.name.clone()),
            id,
            price: views::money(product.price),
            rating: rating(product.rating_average, product.rating_count),
            buyable: !product.archived && product.stock > 0,
            stock: if product.archived {
                "No longer sold".to_owned()
            } else {
                stock
            },
            name: product.name,
            description: product.description,
            reviews: reviews.into_iter().map(ReviewView::from).collect(),
            error: refused.map(|refused| refused.message),
            draft,
            sign_in_href: views::login_url(Some(&format!("/products/{id}"))),
        },
    )
}

/// The product page.
pub async fn show(visit: Visit, Path(id): Path<String>) -> Result<Response, PageError> {
    render(&visit, views::parse_id(&id)?, None, String::new()).await
}

/// The review form.
#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    text: String,
}

/// Posts the signed-in user's review; back to the product.
pub async fn post_review(
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let id = views::parse_id(&id)?;
    let back = format!("/products/{id}");
    visit
        .signed_in()
        .map_err(|error| error.or_back_to(back.as_str()))?;
    // Browsers send a textarea's line breaks as CR LF; the service takes LF.
    let text = form.text.replace("\r\n", "\n");
    let Some(rating) = form
        .rating
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|r| (1..=5).contains(r))
    else {
        let refused = Refusal::invalid("Choose a rating from 1 to 5.");
        return render(&visit, id, Some(refused), text).await;
    };
    let api = visit
        .api()
        .await
        .map_err(|error| error.or_back_to(back.as_str()))?;
    match api.post_review(id, rating, &text).await {
        Ok(()) => Ok(views::see_other(&format!("{back}#reviews"))),
        Err(error) => render(&visit, id, Some(refusal(error)?), text).await,
    }
}
