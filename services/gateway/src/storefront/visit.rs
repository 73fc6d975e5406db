//! One page request's session: the middleware that reads the cookie before the page and writes
//! it after (only when it changed: a new visitor's nonce, a sign-in, a refresh, a sign-out),
//! renders the error pages, and marks pages `no-store`; and [`Visit`], the handlers' view of
//! the session: who is signed in, the CSRF token, the services as the user.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Storefront;
use super::api::Api;
use super::error::PageError;
use super::refresh::Failure;
use super::session::{Session, SignedIn, User, new_nonce};
use super::views::{self, ErrorPage, Layout, NavUser};

/// What the answer does with the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// Nothing: the browser has it.
    Keep,
    /// Stores the session.
    Store,
    /// Deletes it.
    Delete,
}

struct Inner {
    session: Session,
    write: Write,
}

/// The session of the request being answered.
#[derive(Clone)]
pub struct Visit {
    shop: Storefront,
    state: Arc<Mutex<Inner>>,
}

impl Visit {
    fn new(shop: Storefront, session: Session, write: Write) -> Self {
        Self {
            shop,
            state: Arc::new(Mutex::new(Inner { session, write })),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .expect("the lock is never held across a panic"))
    }

    /// Who is signed in, if anyone.
    pub fn user(&self) -> Option<User> {
        self.with(|state| state.session.auth.as_ref().map(|auth| auth.user.clone()))
    }

    /// Who is signed in; else to the sign-in page.
    pub fn signed_in(&self) -> Result<User, PageError> {
        self.user().ok_or(PageError::SignIn { next: None })
    }

    /// The signed-in admin; a customer is refused (403), a visitor sent to sign in.
    pub fn admin(&self) -> Result<User, PageError> {
        let user = self.signed_in()?;
        if user.is_admin() {
            Ok(user)
        } else {
            Err(PageError::Forbidden(
                "This page is for the shop's administrators.".to_owned(),
            ))
        }
    }

    /// The CSRF token the session's forms carry.
    pub fn csrf_token(&self) -> String {
        let nonce = self.with(|state| state.session.nonce.clone());
        self.shop.csrf().token(&nonce)
    }

    /// Passes when `presented` is the session's CSRF token; a 403 page otherwise.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        let nonce = self.with(|state| state.session.nonce.clone());
        if self.shop.csrf().verify(&nonce, presented) {
            Ok(())
        } else {
            tracing::info!("a storefront form without the session's CSRF token was refused");
            Err(PageError::Csrf)
        }
    }

    /// The services, without a token.
    pub fn public_api(&self) -> Api {
        Api::anonymous(self.shop.upstreams().clone())
    }

    /// The services as the signed-in user, the tokens refreshed first when they are about to
    /// expire; to the sign-in page when no one is signed in or the refresh is refused.
    pub async fn api(&self) -> Result<Api, PageError> {
        let auth = self
            .with(|state| state.session.auth.clone())
            .ok_or(PageError::SignIn { next: None })?;
        if !auth.needs_refresh() {
            return Ok(Api::as_user(
                self.shop.upstreams().clone(),
                &auth.access_token,
            ));
        }
        let refreshed = self
            .shop
            .refresher()
            .refresh(self.shop.upstreams(), &auth.refresh_token)
            .await;
        match refreshed {
            Ok(fresh) => {
                let api = Api::as_user(self.shop.upstreams().clone(), &fresh.access_token);
                self.with(|state| {
                    state.session.auth = Some(fresh);
                    state.write = Write::Store;
                });
                Ok(api)
            }
            Err(Failure::Refused) => {
                self.sign_out();
                Err(PageError::SignedOut { next: None })
            }
            Err(failure) => Err(failure.into()),
        }
    }

    /// Signs `auth`'s user in, with a new nonce (forms of the anonymous session stop working).
    pub fn sign_in(&self, auth: SignedIn) {
        self.with(|state| {
            state.session = Session {
                nonce: new_nonce(),
                auth: Some(auth),
            };
            state.write = Write::Store;
        });
    }

    /// The refresh token of the signed-in user, to end the session with.
    pub fn refresh_token(&self) -> Option<String> {
        self.with(|state| {
            state
                .session
                .auth
                .as_ref()
                .map(|auth| auth.refresh_token.clone())
        })
    }

    /// Forgets the user: the cookie is deleted.
    pub fn sign_out(&self) {
        self.with(|state| {
            state.session = Session::anonymous();
            state.write = Write::Delete;
        });
    }

    /// The header of a page titled `title`.
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            csrf: self.csrf_token(),
            user: self.user().map(|user| NavUser {
                is_admin: user.is_admin(),
                name: user.name,
            }),
            query: String::new(),
        }
    }

    /// The session's cookie on `response`, if it changed.
    fn store(&self, response: &mut Response) {
        let cookie = self.with(|state| match state.write {
            Write::Keep => None,
            Write::Store => Some(self.shop.cookies().set(&state.session)),
            Write::Delete => Some(self.shop.cookies().clear()),
        });
        if let Some(cookie) = cookie {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visit>()
            .cloned()
            .ok_or(PageError::Internal)
    }
}

/// Reads the session (a new visitor gets one with a fresh nonce), runs the page, renders an
/// error it answered, and stores the session if it changed.
pub async fn middleware(
    State(shop): State<Storefront>,
    mut request: Request,
    next: Next,
) -> Response {
    let here = page_of(&request);
    let visit = match shop.cookies().read(request.headers()) {
        Some(session) => Visit::new(shop.clone(), session, Write::Keep),
        None => Visit::new(shop.clone(), Session::anonymous(), Write::Store),
    };
    request.extensions_mut().insert(visit.clone());
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<PageError>() {
        response = error_page(&visit, error, here.as_deref());
    }
    visit.store(&mut response);
    // Pages hold a user's data and the session's CSRF token: never kept by any cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The page a request is about, to come back to after signing in: a `GET`'s own path and
/// query; for a form, the page it was on (the path of its `Referer`).
fn page_of(request: &Request) -> Option<String> {
    if request.method() == Method::GET {
        return request.uri().path_and_query().map(ToString::to_string);
    }
    let referer = request.headers().get(header::REFERER)?.to_str().ok()?;
    // Only the path is kept, so whatever the header names, the user stays in the shop.
    let after_scheme = referer.split_once("://").map_or(referer, |(_, rest)| rest);
    let path = after_scheme.find('/').map(|start| &after_scheme[start..])?;
    views::safe_next(path).map(str::to_owned)
}

/// The answer to `error` on the page at `here`.
fn error_page(visit: &Visit, error: PageError, here: Option<&str>) -> Response {
    match error {
        PageError::SignIn { next } => views::see_other(&views::login_url(next.as_deref().or(here))),
        PageError::SignedOut { next } => {
            visit.sign_out();
            views::see_other(&views::login_url(next.as_deref().or(here)))
        }
        error => {
            let (status, heading, message) = error.describe();
            let page = ErrorPage {
                layout: visit.layout(heading),
                heading,
                message,
            };
            let mut response =
                views::html(status, &page).unwrap_or_else(|_| (status, heading).into_response());
            if let PageError::Unavailable {
                retry_after_secs, ..
            } = error
            {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            response
        }
    }
}
