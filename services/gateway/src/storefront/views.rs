//! What every page shares: the layout (header, search, the account links), the HTML answer,
//! redirects, the error page, and how money, times and ids are shown and read.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::PageError;

/// The header of every page.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page's title.
    pub title: String,
    /// The CSRF token of the session (the sign-out form).
    pub csrf: String,
    /// Who is signed in.
    pub user: Option<NavUser>,
    /// The words in the search box.
    pub query: String,
}

/// The signed-in user, as the header shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    /// Display name.
    pub name: String,
    /// Whether the admin links are shown.
    pub is_admin: bool,
}

/// An error page.
#[derive(Template)]
#[template(path = "storefront/error.html")]
pub struct ErrorPage {
    /// The header.
    pub layout: Layout,
    /// The heading.
    pub heading: &'static str,
    /// What happened and what to do.
    pub message: String,
}

/// `page` rendered, answered with `status`.
pub fn html(status: StatusCode, page: &impl Template) -> Result<Response, PageError> {
    let body = page.render()?;
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(response)
}

/// `page` rendered, 200.
pub fn ok(page: &impl Template) -> Result<Response, PageError> {
    html(StatusCode::OK, page)
}

/// 303 to `location` (after a form: the browser follows with a GET).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => {
            PageError::BadRequest("That address cannot be followed.".to_owned()).into_response()
        }
    }
}

/// `next` if it is a path of this shop (`/...`, not `//host` or `/\host`, which browsers read
/// as another site), so that a link cannot make sign-in send the user elsewhere.
pub fn safe_next(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2000
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

/// The sign-in page, coming back to `next` (when it is a page of this shop) afterwards.
pub fn login_url(next: Option<&str>) -> String {
    match next.and_then(safe_next) {
        Some(next) if next != "/" && !next.starts_with("/login") => format!(
            "/login?{}",
            serde_urlencoded::to_string([("next", next)]).expect("a string encodes")
        ),
        _ => "/login".to_owned(),
    }
}

/// An amount of dollars, `$12.99`.
pub fn money(amount: f64) -> String {
    format!("${amount:.2}")
}

/// An RFC 3339 time as `2026-03-01 14:05 UTC` (the services answer in UTC).
pub fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

/// The id in a path segment; anything else is no such page.
pub fn parse_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(PageError::NotFound)
}

/// A rating as stars, `★★★★☆`.
pub fn stars(rating: i64) -> String {
    let full = usize::try_from(rating.clamp(0, 5)).unwrap_or(0);
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/orders/7"), Some("/orders/7"));
        assert_eq!(safe_next("/?q=tea"), Some("/?q=tea"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(login_url(Some("/cart")), "/login?next=%2Fcart");
        assert_eq!(login_url(Some("//evil.example")), "/login");
        assert_eq!(login_url(None), "/login");
        assert_eq!(login_url(Some("/login?next=/x")), "/login");
    }

    #[test]
    fn amounts_times_and_ids_read_well() {
        assert_eq!(money(12.5), "$12.50");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(when("2026-03-01T14:05:09.123Z"), "2026-03-01 14:05 UTC");
        assert_eq!(when("soon"), "soon");
        assert_eq!(parse_id("42").unwrap(), 42);
        assert!(parse_id("0").is_err() && parse_id("x").is_err() && parse_id("-1").is_err());
        assert_eq!(stars(4), "★★★★☆");
    }
}
