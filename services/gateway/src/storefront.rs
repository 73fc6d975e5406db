//! The storefront: server-rendered pages at `/` (docs/storefront.md), calling the services
//! through the gateway's shared upstream clients. A visitor's session is a signed cookie
//! ([`session`], [`cookie`]) read and written by one middleware ([`visit`]); every form carries a CSRF
//! token ([`csrf`]); the pages ([`pages`]) are askama templates, escaped by default; what goes
//! wrong is an HTML error page with its status ([`error`]).

pub mod api;
pub mod config;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod form;
pub mod pages;
pub mod refresh;
pub mod session;
pub mod views;
pub mod visit;

use std::sync::Arc;

use axum::Router;

pub use config::StorefrontConfig;

use crate::upstreams::Upstreams;

/// What the pages need: the services and the session settings.
#[derive(Clone)]
pub struct Storefront(Arc<Parts>);

struct Parts {
    upstreams: Arc<Upstreams>,
    csrf: csrf::Csrf,
    cookies: cookie::Cookies,
    refresher: refresh::Refresher,
}

impl Storefront {
    /// The storefront over `upstreams`, signing with `config`'s secret (or a random one).
    pub fn new(config: &StorefrontConfig, upstreams: Arc<Upstreams>) -> anyhow::Result<Self> {
        let secret = config.secret()?;
        Ok(Self(Arc::new(Parts {
            upstreams,
            csrf: csrf::Csrf::new(&secret),
            cookies: cookie::Cookies::new(&secret, config.storefront_secure_cookies),
            refresher: refresh::Refresher::default(),
        })))
    }

    /// The services.
    pub fn upstreams(&self) -> &Arc<Upstreams> {
        &self.0.upstreams
    }

    /// The CSRF tokens.
    pub fn csrf(&self) -> &csrf::Csrf {
        &self.0.csrf
    }

    /// The session cookies.
    pub fn cookies(&self) -> &cookie::Cookies {
        &self.0.cookies
    }

    /// The token refreshes.
    pub fn refresher(&self) -> &refresh::Refresher {
        &self.0.refresher
    }
}

/// The pages' routes (each with the session middleware) and the stylesheet.
pub fn router(storefront: Storefront) -> Router {
    pages::routes()
        .layer(axum::middleware::from_fn_with_state(
            storefront.clone(),
            visit::middleware,
        ))
        .with_state(storefront)
        .merge(pages::assets::routes())
}
