//! Authentication at the edge: a request for a protected `/api` route without a valid access
//! token is refused here, before any service is called (the services verify again: defence in
//! depth). Which routes are public is the one [`PUBLIC`] table. A valid token's caller goes on
//! as a [`Principal`] request extension, which the rate limits key by.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use microshop_auth::{Auth, Principal};

use crate::routing;

/// Which methods of a public route need no token.
#[derive(Debug, Clone, Copy)]
enum Methods {
    /// `GET` and `HEAD` (reads of a public catalogue).
    Read,
    /// `POST` alone.
    Post,
}

/// How a public route's path is matched.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// Exactly this path.
    Exact(&'static str),
    /// This path and everything under it.
    Prefix(&'static str),
}

/// The routes anyone may call, as the services know them (seed `/api/v1` paths are rewritten
/// first, so they are covered by their targets). DESIGN §4's "public" routes; everything else
/// under `/api` needs a token.
const PUBLIC: [(Methods, Path); 7] = [
    (Methods::Post, Path::Exact("/api/users")),
    (Methods::Post, Path::Exact("/api/users/register")),
    (Methods::Post, Path::Exact("/api/users/login")),
    (Methods::Post, Path::Exact("/api/users/refresh")),
    (Methods::Read, Path::Prefix("/.well-known")),
    // The catalogue, categories and reviews; `/reviews/mine` is the one read that is not
    // (see `is_public`).
    (Methods::Read, Path::Prefix("/api/products")),
    // The card provider's signed webhook: it has no token, its signature is its proof.
    (Methods::Post, Path::Exact("/api/payments/callback")),
];

/// Whether `method path` (a service path, after the `/api/v1` rewrite) needs no token.
pub fn is_public(method: &Method, path: &str) -> bool {
    if path.ends_with("/reviews/mine") {
        return false;
    }
    PUBLIC.iter().any(|(methods, pattern)| {
        let method_matches = match methods {
            Methods::Read => method == Method::GET || method == Method::HEAD,
            Methods::Post => method == Method::POST,
        };
        let path_matches = match pattern {
            Path::Exact(exact) => path == *exact,
            Path::Prefix(prefix) => path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        };
        method_matches && path_matches
    })
}

/// The middleware: verifies the token of every `/api` request that carries one; refuses a
/// protected route's request without a valid one (401, the services' own error body); lets
/// other paths (the storefront's pages, which keep their own session) through untouched.
pub async fn authenticate(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !(path.starts_with("/api/") || path.starts_with("/.well-known/")) {
        return next.run(request).await;
    }
    let public = is_public(request.method(), &routing::rewrite(path));
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if authorization.is_none() && public {
        return next.run(request).await;
    }
    match auth.authenticate(authorization).await {
        Ok(principal) => {
            request.extensions_mut().insert::<Principal>(principal);
            next.run(request).await
        }
        // A public route with a bad token: the service decides (it ignores tokens there).
        Err(_) if public => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_routes_are_public() {
        let get = Method::GET;
        let post = Method::POST;
        assert!(is_public(&post, "/api/users/login"));
        assert!(is_public(&post, "/api/users/register"));
        assert!(is_public(&post, "/api/users"));
        assert!(is_public(&get, "/.well-known/jwks.json"));
        assert!(is_public(&get, "/api/products"));
        assert!(is_public(&Method::HEAD, "/api/products/7/reviews"));
        assert!(is_public(&post, "/api/payments/callback"));

        assert!(
            !is_public(&get, "/api/users"),
            "the user list is the admin's"
        );
        assert!(!is_public(&get, "/api/users/profile"));
        assert!(
            !is_public(&post, "/api/products"),
            "creating products is the admin's"
        );
        assert!(!is_public(&get, "/api/products/7/reviews/mine"));
        assert!(!is_public(&get, "/api/productsX"));
        assert!(!is_public(&get, "/api/orders"));
        assert!(!is_public(&get, "/api/cart"));
        assert!(!is_public(&post, "/api/payments"));
        assert!(!is_public(&get, "/api/payments/callback"));
        assert!(!is_public(&get, "/api/notifications"));
        assert!(!is_public(&post, "/api/users/logout"));
        // The seed paths are judged once rewritten.
        assert!(is_public(&post, &routing::rewrite("/api/v1/login")));
        assert!(is_public(&get, &routing::rewrite("/api/v1/products/3")));
        assert!(!is_public(&get, &routing::rewrite("/api/v1/orders")));
    }
}
