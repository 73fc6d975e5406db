//! The product service: catalogue, categories, reviews, stock.

use microshop_http_client::UpstreamError;
use serde::{Deserialize, Serialize};

use super::{Api, query};
use crate::routing::Upstream;

/// A product as the catalogue shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Unit price in dollars.
    pub price: f64,
    /// Units in stock.
    #[serde(default)]
    pub stock: i64,
    /// Average review rating, if reviewed.
    #[serde(default)]
    pub rating_average: Option<f64>,
    /// Number of reviews.
    #[serde(default)]
    pub rating_count: i64,
    /// No longer sold.
    #[serde(default)]
    pub archived: bool,
}

/// A category and those below it.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    /// Its URL name (`?category=`).
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Live products in it and below.
    #[serde(default)]
    pub product_count: i64,
    /// Categories directly below.
    #[serde(default)]
    pub children: Vec<Category>,
}

/// A customer's review.
#[derive(Debug, Clone, Deserialize)]
pub struct Review {
    /// Who wrote it.
    pub user_id: i64,
    /// 1 to 5.
    pub rating: i64,
    /// What they wrote.
    #[serde(default)]
    pub text: String,
    /// The writer bought the product.
    #[serde(default)]
    pub verified_purchase: bool,
    /// When (RFC 3339).
    pub created_at: String,
}

/// A catalogue query: words, a category and a window.
#[derive(Debug, Default)]
pub struct Search {
    /// Words to look for.
    pub q: Option<String>,
    /// A category slug.
    pub category: Option<String>,
    /// Ordering (`name`, ...); the service's default when `None`.
    pub sort: Option<&'static str>,
    /// At most this many.
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
}

#[derive(Serialize)]
struct NewReview<'a> {
    rating: i64,
    text: &'a str,
}

#[derive(Serialize)]
struct Stock {
    stock: i64,
}

impl Api {
    /// Products matching `search`.
    pub async fn products(&self, search: &Search) -> Result<Vec<Product>, UpstreamError> {
        let path = format!(
            "/api/products{}",
            query(&[
                ("q", search.q.clone()),
                ("category", search.category.clone()),
                ("sort", search.sort.map(str::to_owned)),
                ("limit", Some(search.limit.to_string())),
                ("offset", Some(search.offset.to_string())),
            ])
        );
        self.client(Upstream::Products)
            .get_json_with(&path, &self.headers)
            .await
    }

    /// Product `id`.
    pub async fn product(&self, id: i64) -> Result<Product, UpstreamError> {
        self.client(Upstream::Products)
            .get_json_with(&format!("/api/products/{id}"), &self.headers)
            .await
    }

    /// The category tree.
    pub async fn categories(&self) -> Result<Vec<Category>, UpstreamError> {
        self.client(Upstream::Products)
            .get_json_with("/api/products/categories", &self.headers)
            .await
    }

    /// The newest reviews of product `id`.
    pub async fn reviews(&self, id: i64) -> Result<Vec<Review>, UpstreamError> {
        self.client(Upstream::Products)
            .get_json_with(
                &format!("/api/products/{id}/reviews?limit=50"),
                &self.headers,
            )
            .await
    }

    /// Posts the caller's review of product `id`.
    pub async fn post_review(&self, id: i64, rating: i64, text: &str) -> Result<(), UpstreamError> {
        let _: serde_json::Value = self
            .client(Upstream::Products)
            .post_json_with(
                &format!("/api/products/{id}/reviews"),
                &NewReview { rating, text },
                &self.headers,
            )
            .await?;
        Ok(())
    }

    /// Sets the stock of product `id` (admins).
    pub async fn set_stock(&self, id: i64, stock: i64) -> Result<(), UpstreamError> {
        let _: serde_json::Value = self
            .client(Upstream::Products)
            .put_json_with(
                &format!("/api/inventory/{id}"),
                &Stock { stock },
                &self.headers,
            )
            .await?;
        Ok(())
    }
}
