//! `GET|POST /login`, `GET|POST /register`, `POST /logout`: signing in (the session then holds
//! the user's tokens), creating an account (and signing in), signing out (the refresh token
//! revoked, the cookie deleted). After signing in the user goes to `next`, when it is a page of
//! this shop, else to the catalogue.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use microshop_http_client::UpstreamError;
use microshop_web::ClientAddress;
use serde::Deserialize;

use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::{Form, Params};
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// The sign-in page.
#[derive(Template)]
#[template(path = "storefront/login.html")]
pub struct LoginPage {
    layout: Layout,
    next: String,
    email: String,
    error: Option<String>,
    register_href: String,
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "storefront/register.html")]
pub struct RegisterPage {
    layout: Layout,
    next: String,
    email: String,
    name: String,
    error: Option<String>,
    login_href: String,
}

/// Both forms.
#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `next` when it is a page of this shop, else empty (the catalogue).
fn local(next: &str) -> String {
    views::safe_next(next).unwrap_or_default().to_owned()
}

/// Where to go once signed in.
fn destination(next: &str) -> &str {
    views::safe_next(next).unwrap_or("/")
}

/// `path`, with `?next=` when there is one.
fn with_next(path: &str, next: &str) -> String {
    if next.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string([("next", next)]).expect("a string encodes")
    )
}

fn login_page(
    visit: &Visit,
    status: StatusCode,
    next: &str,
    email: String,
    error: Option<String>,
) -> Result<Response, PageError> {
    views::html(
        status,
        &LoginPage {
            layout: visit.layout("Sign in"),
            register_href: with_next("/register", next),
            next: next.to_owned(),
            email,
            error,
        },
    )
}

fn register_page(
    visit: &Visit,
    status: StatusCode,
    form: &AccountForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let next = local(&form.next);
    views::html(
        status,
        &RegisterPage {
            layout: visit.layout("Create an account"),
            login_href: with_next("/login", &next),
            next,
            email: form.email.clone(),
            name: form.name.clone(),
            error,
        },
    )
}

/// The sign-in form.
pub async fn show_login(visit: Visit, params: Params) -> Result<Response, PageError> {
    let next = local(params.get("next").unwrap_or_default());
    login_page(&visit, StatusCode::OK, &next, String::new(), None)
}

/// Signs in; to `next`.
pub async fn log_in(
    visit: Visit,
    ClientAddress(from): ClientAddress,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    let next = local(&form.next);
    let answer = visit
        .public_api()
        .log_in(form.email.trim(), &form.password, from)
        .await;
    match answer {
        Ok(auth) => {
            visit.sign_in(auth);
            Ok(views::see_other(destination(&next)))
        }
        Err(error) => {
            let refused = sign_in_refusal(error)?;
            login_page(
                &visit,
                refused.status,
                &next,
                form.email,
                Some(refused.message),
            )
        }
    }
}

/// What the sign-in form says when the user service says no.
fn sign_in_refusal(error: UpstreamError) -> Result<Refusal, PageError> {
    match error {
        UpstreamError::Unauthenticated { message, .. } => Ok(Refusal {
            status: StatusCode::UNAUTHORIZED,
            message: if message.is_empty() {
                "Wrong e-mail or password.".to_owned()
            } else {
                message
            },
        }),
        // The user service throttles failed log-ins (429), which its client counts as
        // "unavailable": the form says so instead of an error page.
        UpstreamError::Unavailable {
            reason,
            retry_after_secs,
            ..
        } if reason.contains("429") => Ok(Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "Too many attempts. Please wait {retry_after_secs} seconds and try again."
            ),
        }),
        other => refusal(other),
    }
}

/// The sign-up form.
pub async fn show_register(visit: Visit, params: Params) -> Result<Response, PageError> {
    let form = AccountForm {
        email: String::new(),
        name: String::new(),
        password: String::new(),
        next: params.get("next").unwrap_or_default().to_owned(),
    };
    register_page(&visit, StatusCode::OK, &form, None)
}

/// Creates the account, signs in; to `next`.
pub async fn register(
    visit: Visit,
    ClientAddress(from): ClientAddress,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    let api = visit.public_api();
    let email = form.email.trim();
    let created = api
        .register(email, form.name.trim(), &form.password, from)
        .await;
    let signed_in = match created {
        Ok(()) => api.log_in(email, &form.password, from).await,
        Err(error) => Err(error),
    };
    match signed_in {
        Ok(auth) => {
            visit.sign_in(auth);
            Ok(views::see_other(destination(&form.next)))
        }
        Err(error) => {
            let refused = sign_in_refusal(error)?;
            register_page(&visit, refused.status, &form, Some(refused.message))
        }
    }
}

/// The sign-out form.
#[derive(Deserialize)]
pub struct SignOutForm {}

/// Ends the session at the user service (best effort: the cookie goes whatever it says) and
/// deletes the cookie; to the catalogue.
pub async fn log_out(visit: Visit, Form(_): Form<SignOutForm>) -> Response {
    if visit.user().is_some() {
        // The tokens are refreshed first if need be: the refresh token to revoke is the newest.
        let ended = match visit.api().await {
            Ok(api) => match visit.refresh_token() {
                Some(refresh_token) => api.log_out(&refresh_token).await.map_err(PageError::from),
                None => Ok(()),
            },
            Err(error) => Err(error),
        };
        if let Err(error) = ended {
            tracing::warn!(?error, "the user service did not end a storefront session");
        }
    }
    visit.sign_out();
    views::see_other("/")
}
