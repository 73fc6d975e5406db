//! The caller of a request: the [`Principal`] extractor verifies the bearer token with the
//! [`Auth`] the router carries (a request extension), without calling the user service.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use prometheus::{IntCounterVec, Opts, Registry};

use crate::config::VerifyConfig;
use crate::error::AuthError;
use crate::jwks::JwksSource;
use crate::keys::KeyError;
use crate::role::Role;
use crate::service_key::ServiceKeys;
use crate::token::Verifier;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's id (the token's `sub`).
    pub user_id: i64,
    /// The user's role when the token was issued.
    pub role: Role,
    /// The token's id (`jti`).
    pub token_id: String,
    /// When the token expires (seconds since the epoch).
    pub expires_at: u64,
}

impl Principal {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// `Ok` for an admin, 403 otherwise.
    pub fn require_admin(&self) -> Result<(), AuthError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AuthError::AdminOnly)
        }
    }

    /// Whether the caller may see or change what belongs to `user_id`: their own, or any as an
    /// admin. Callers answer 404 when not, so that others' resources are not even confirmed.
    pub fn may_access(&self, user_id: i64) -> bool {
        self.user_id == user_id || self.is_admin()
    }
}

/// Token verification for a router: add it with `router.layer(Extension(auth))`.
///
/// The extension layer clones it into every request: one reference count to share between the
/// cores, not one per part.
#[derive(Clone)]
pub struct Auth(Arc<AuthParts>);

struct AuthParts {
    verifier: Arc<Verifier>,
    jwks: Option<Arc<JwksSource>>,
    service_keys: ServiceKeys,
    failures: IntCounterVec,
}

impl Auth {
    /// Verifies with `verifier`, counting refusals in `auth_failures_total{reason}` on
    /// `registry` (the service's metrics registry).
    pub fn new(verifier: Verifier, registry: &Registry) -> Self {
        Self::with(Arc::new(verifier), None, ServiceKeys::default(), registry)
    }

    fn with(
        verifier: Arc<Verifier>,
        jwks: Option<Arc<JwksSource>>,
        service_keys: ServiceKeys,
        registry: &Registry,
    ) -> Self {
        let failures = IntCounterVec::new(
            Opts::new(
                "auth_failures_total",
                "Requests refused for want of a valid access token or the right role, by reason \
                 (the error code: token_missing, token_expired, token_invalid, admin_only, ...).",
            ),
            &["reason"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(failures.clone()))
            .expect("one Auth per metrics registry");
        Self(Arc::new(AuthParts {
            verifier,
            jwks,
            service_keys,
            failures,
        }))
    }

    /// Verification as `config` says: its PEM keys, or the keys of its JWKS URL (fetched now,
    /// refreshed in the background, and again when a token names an unknown key). A JWKS that
    /// cannot be fetched at start is not fatal: the service starts, refuses tokens until a
    /// fetch succeeds, and logs why.
    pub async fn from_config(config: &VerifyConfig, registry: &Registry) -> Result<Self, KeyError> {
        let verifier = Arc::new(config.verifier()?);
        let service_keys = config.service_keys()?;
        let mut jwks = None;
        if let Some(url) = &config.jwt_jwks_url {
            let source = Arc::new(JwksSource::new(url.clone()));
            source.refresh(&verifier).await;
            source.spawn_refresh(Arc::downgrade(&verifier), config.jwt_jwks_refresh);
            jwks = Some(source);
        }
        Ok(Self::with(verifier, jwks, service_keys, registry))
    }

    /// The caller `authorization` (the header's value) names.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let token = bearer(authorization);
        let parts = &*self.0;
        let mut result = token.and_then(|token| parts.verifier.verify(token));
        if let (Err(AuthError::UnknownKey), Ok(token), Some(jwks)) = (&result, token, &parts.jwks) {
            // A key newer than the last fetch (a rotation): fetch once, then judge again.
            if jwks.claim_refetch() && jwks.refresh(&parts.verifier).await {
                result = parts.verifier.verify(token);
            }
        }
        if let Err(error) = &result {
            self.refused(*error);
        }
        result
    }

    /// The callers accepted on internal routes.
    pub fn service_keys(&self) -> &ServiceKeys {
        &self.0.service_keys
    }

    /// Counts a refusal.
    pub fn refused(&self, error: AuthError) {
        self.0.failures.with_label_values(&[error.code()]).inc();
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
fn bearer(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = parts.extensions.get::<Auth>().cloned().expect(
            "the router has no Auth extension: add .layer(Extension(auth)) where it is built",
        );
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let principal = auth.authenticate(authorization).await?;
        // Logs and traces of this request name the user (never the token).
        tracing::Span::current().record("user_id", principal.user_id);
        Ok(principal)
    }
}

/// An admin caller: 401 without a valid token, 403 for a customer.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if let Err(error) = principal.require_admin() {
            if let Some(auth) = parts.extensions.get::<Auth>() {
                auth.refused(error);
            }
            return Err(error);
        }
        Ok(Self(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_header_with_a_token_counts() {
        assert_eq!(bearer(None), Err(AuthError::Missing));
        assert_eq!(bearer(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(bearer(Some("Bearer ")), Err(AuthError::Missing));
        assert_eq!(bearer(Some("bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("Bearer  abc ")), Ok("abc"));
    }
}
