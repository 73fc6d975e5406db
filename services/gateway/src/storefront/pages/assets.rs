//! `GET /static/shop.css`: the one stylesheet, built into the binary (no inline styles: the
//! Content-Security-Policy allows only the shop's own).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The stylesheet.
const SHOP_CSS: &str = include_str!("../../../static/shop.css");

/// The stylesheet's route (outside the session: it needs none).
pub fn routes() -> Router {
    Router::new().route("/static/shop.css", get(stylesheet))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SHOP_CSS,
    )
}
