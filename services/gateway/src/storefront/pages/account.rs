//! `GET /account` (profile and addresses; `POST /account/addresses` adds one,
//! `POST /account/addresses/{id}/remove` removes one) and `GET /notifications`.

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use microshop_http_client::UpstreamError;
use serde::Deserialize;

use super::checkout::one_line;
use crate::storefront::api::account::Notification;
use crate::storefront::api::addresses::NewAddress;
use crate::storefront::error::{PageError, Refusal, refusal};
use crate::storefront::form::Form;
use crate::storefront::views::{self, Layout};
use crate::storefront::visit::Visit;

/// The account page.
#[derive(Template)]
#[template(path = "storefront/account.html")]
pub struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    role: String,
    addresses: Vec<SavedAddress>,
    address: NewAddress,
    error: Option<String>,
}

/// A saved address as listed.
struct SavedAddress {
    id: i64,
    text: String,
    is_default: bool,
}

/// The notifications page.
#[derive(Template)]
#[template(path = "storefront/notifications.html")]
pub struct NotificationsPage {
    layout: Layout,
    notifications: Vec<NotificationView>,
}

/// A notification as listed.
struct NotificationView {
    subject: String,
    channel: String,
    status: String,
    text: String,
    when: String,
}

impl From<Notification> for NotificationView {
    fn from(note: Notification) -> Self {
        let subject = note
            .subject
            .filter(|subject| !subject.trim().is_empty())
            .unwrap_or_else(|| note.template.replace('_', " "));
        Self {
            subject,
            channel: if note.channel == "sms" {
                "Text message".to_owned()
            } else {
                "E-mail".to_owned()
            },
            status: note.status,
            text: note.text,
            when: views::when(&note.created_at),
        }
    }
}

/// The account page, with the new-address form as `address` left it and `refused` in its
/// alert.
async fn render(
    visit: &Visit,
    address: NewAddress,
    refused: Option<Refusal>,
) -> Result<Response, PageError> {
    visit.signed_in()?;
    let api = visit.api().await?;
    let (profile, addresses) = tokio::join!(api.profile(), api.addresses());
    let (profile, addresses) = (profile?, addresses?);
    let status = refused
        .as_ref()
        .map_or(StatusCode::OK, |refused| refused.status);
    views::html(
        status,
        &AccountPage {
            layout: visit.layout("Your account"),
            name: profile.name,
            email: profile.email,
            role: profile.role,
            addresses: addresses
                .iter()
                .map(|saved| SavedAddress {
                    id: saved.id,
                    text: one_line(saved),
                    is_default: saved.is_default,
                })
                .collect(),
            address,
            error: refused.map(|refused| refused.message),
        },
    )
}

/// The account page.
pub async fn show(visit: Visit) -> Result<Response, PageError> {
    render(&visit, NewAddress::default(), None).await
}

/// Saves a new address; back to the account.
pub async fn add_address(
    visit: Visit,
    Form(address): Form<NewAddress>,
) -> Result<Response, PageError> {
    visit
        .signed_in()
        .map_err(|error| error.or_back_to("/account"))?;
    if address.is_blank() {
        return render(
            &visit,
            address,
            Some(Refusal::invalid("Fill in the address.")),
        )
        .await;
    }
    match visit.api().await?.save_address(&address).await {
        Ok(_) => Ok(views::see_other("/account")),
        Err(error) => render(&visit, address, Some(refusal(error)?)).await,
    }
}

/// The remove form.
#[derive(Deserialize)]
pub struct RemoveForm {}

/// Deletes a saved address; back to the account.
pub async fn remove_address(
    visit: Visit,
    Path(id): Path<String>,
    Form(_): Form<RemoveForm>,
) -> Result<Response, PageError> {
    let id = views::parse_id(&id)?;
    visit
        .signed_in()
        .map_err(|error| error.or_back_to("/account"))?;
    match visit.api().await?.delete_address(id).await {
        Ok(()) | Err(UpstreamError::NotFound { .. }) => Ok(views::see_other("/account")),
        Err(error) => render(&visit, NewAddress::default(), Some(refusal(error)?)).await,
    }
}

/// The user's notifications, newest first.
pub async fn notifications(visit: Visit) -> Result<Response, PageError> {
    let user = visit.signed_in()?;
    let notifications = visit.api().await?.notifications(user.id).await?;
    views::ok(&NotificationsPage {
        layout: visit.layout("Notifications"),
        notifications: notifications
            .into_iter()
            .map(NotificationView::from)
            .collect(),
    })
}
