//! `/api/notifications`: an admin's e-mail and text messages, the history, preferences.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_auth::{Admin, Principal};
use microshop_domain::email::{EMAIL_PATTERN, Email, MAX_EMAIL_CHARS};
use microshop_domain::validation::{REQUIRED_TEXT_PATTERN, required_text};
use microshop_domain::{Id, NotAnId, ValidationError};
use microshop_web::error::ErrorBody;
use microshop_web::{ApiError, Json, Query};
use serde::{Deserialize, Serialize};
use utoipa::openapi::Object;
use utoipa::{IntoParams, ToSchema};

use crate::Error;
use crate::app::App;
use crate::db::notifications::{self, Filter, NotificationRow};
use crate::db::people;
use crate::domain::{Category, Channel, Message, Status};
use crate::notify::{self, Request};

/// Longest subject.
const MAX_SUBJECT_CHARS: usize = 200;
/// Longest e-mail text.
const MAX_TEXT_CHARS: usize = 10_000;
/// Longest text message (ten SMS segments).
const MAX_SMS_CHARS: usize = 1_600;
/// A phone number in E.164 form.
const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{6,14}$";

fn subject_schema() -> Object {
    microshop_web::schema::text(REQUIRED_TEXT_PATTERN, 1, MAX_SUBJECT_CHARS)
}
fn text_schema() -> Object {
    microshop_web::schema::text(REQUIRED_TEXT_PATTERN, 1, MAX_TEXT_CHARS)
}
fn sms_text_schema() -> Object {
    microshop_web::schema::text(REQUIRED_TEXT_PATTERN, 1, MAX_SMS_CHARS)
}
fn email_schema() -> Object {
    microshop_web::schema::text(EMAIL_PATTERN, 3, MAX_EMAIL_CHARS)
}
fn phone_schema() -> Object {
    microshop_web::schema::text(PHONE_PATTERN, 8, 16)
}

/// Body of `POST /api/notifications/email` as the OpenAPI document states it: to a user (their
/// address, their preferences) or to an address. (Read as [`EmailRequest`].)
#[allow(dead_code)] // the document's shape; requests are read as `EmailRequest`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EmailRequestShape {
    /// To a user of the shop.
    User(EmailToUser),
    /// To an address.
    Address(EmailToAddress),
}

/// `{user_id, subject, text, category?}`.
#[allow(dead_code)] // the document's shape
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailToUser {
    /// A user of the shop: greeted by name, at the address the shop knows.
    user_id: Id,
    /// At most 200 characters.
    #[schema(schema_with = subject_schema, example = "Our summer sale")]
    subject: String,
    /// Plain text, at most 10,000 characters; paragraphs separated by blank lines. The HTML
    /// part is made from it (escaped).
    #[schema(schema_with = text_schema, example = "Everything is 20 % off this week.")]
    text: String,
    /// `transactional` (default: always sent) or `marketing` (not sent to users who turned
    /// marketing off).
    #[schema(pattern = "^(transactional|marketing)$", example = "marketing")]
    category: Option<String>,
}

/// `{to, subject, text, category?}`.
#[allow(dead_code)] // the document's shape
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailToAddress {
    /// An address.
    #[schema(schema_with = email_schema, example = "ann@example.com")]
    to: String,
    /// At most 200 characters.
    #[schema(schema_with = subject_schema, example = "Our order of last week")]
    subject: String,
    /// Plain text, at most 10,000 characters.
    #[schema(schema_with = text_schema, example = "It has shipped.")]
    text: String,
    /// `transactional` (default) or `marketing`.
    #[schema(pattern = "^(transactional|marketing)$", example = "transactional")]
    category: Option<String>,
}

/// `POST /api/notifications/email` as read: the fields of both shapes, checked to be one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[serde(default)]
    user_id: Option<Id>,
    #[serde(default)]
    to: Option<String>,
    subject: String,
    text: String,
    #[serde(default)]
    category: Option<String>,
}

/// Body of `POST /api/notifications/sms`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsRequest {
    /// The user it is for, if any (it is listed in their history).
    user_id: Option<Id>,
    /// The number, E.164 (`+491701234567`).
    #[schema(schema_with = phone_schema, example = "+491701234567")]
    to: String,
    /// At most 1,600 characters.
    #[schema(schema_with = sms_text_schema, example = "Your order 17 has shipped.")]
    text: String,
}

/// A notification queued.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Queued {
    id: i64,
    /// `QUEUED`.
    #[schema(example = "QUEUED")]
    status: String,
}

/// A notification as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationResponse {
    id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
    /// `email` or `sms`.
    channel: String,
    /// `transactional` or `marketing`.
    category: String,
    /// `welcome`, `order_confirmed`, `order_rejected`, `order_paid`, `order_shipped`,
    /// `order_delivered`, `order_cancelled`, `refunded`, `low_stock` or `custom`.
    template: String,
    /// The address or number, once it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// The plain text.
    text: String,
    /// `QUEUED`, `SENDING`, `SENT` or `FAILED`.
    #[schema(example = "SENT")]
    status: String,
    attempts: i32,
    /// Why the last attempt failed (or a note on a sent one).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_at: Option<DateTime<Utc>>,
}

impl From<NotificationRow> for NotificationResponse {
    fn from(row: NotificationRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            channel: row.channel,
            category: row.category,
            template: row.template,
            recipient: row.recipient,
            subject: row.subject,
            text: row.body_text,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
            failed_at: row.failed_at,
        }
    }
}

/// Queues `request`; the answer.
async fn queued(app: &App, request: &Request<'_>) -> Result<(StatusCode, Json<Queued>), Error> {
    let mut tx = app.outbox.begin().await?;
    let id = notify::queue(&mut tx, request)
        .await?
        .ok_or_else(|| Error::OptedOut(request.user_id.unwrap_or_default()))?;
    tx.commit().await?;
    app.metrics.count(request.channel, "queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            id,
            status: Status::Queued.as_str().to_owned(),
        }),
    ))
}

/// Sends an e-mail (admin): to a user — greeted by name, at the address the shop knows, unless
/// it is marketing and they turned marketing off (409) — or to an address. Queued (202); the
/// sender retries it while the SMTP server cannot take it.
#[utoipa::path(post, path = "/api/notifications/email", tag = "notifications", request_body = EmailRequestShape,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "A marketing message to a user who turned marketing off", body = ErrorBody),
        (status = 422, description = "Neither or both of user_id and to, or a bad field", body = ErrorBody),
    ))]
pub async fn send_email(
    State(app): State<App>,
    _admin: Admin,
    Json(body): Json<EmailRequest>,
) -> Result<(StatusCode, Json<Queued>), Error> {
    let to = body.to.as_deref().map(Email::parse).transpose()?;
    if body.user_id.is_some() == to.is_some() {
        return Err(ValidationError::new("to", "send either user_id or to, exactly one").into());
    }
    let subject = required_text("subject", &body.subject, MAX_SUBJECT_CHARS)?;
    let text = required_text("text", &body.text, MAX_TEXT_CHARS)?;
    let category = match body.category.as_deref() {
        None => Category::Transactional,
        Some(name) => Category::parse(name).ok_or_else(|| {
            ValidationError::new("category", "must be transactional or marketing")
        })?,
    };
    let user_id = body.user_id.map(Id::get);
    let name = match user_id {
        Some(id) => people::user(&app.db, id).await?.map(|user| user.name),
        None => None,
    };
    let message = Message::Custom { subject, text }.render(name.as_deref(), &app.shop_url);
    let request = Request {
        user_id,
        channel: Channel::Email,
        category,
        template: "custom",
        recipient: to.as_ref().map(Email::as_str),
        message,
        cause: None,
    };
    queued(&app, &request).await
}

/// Sends a text message (admin) to a number, listed in a user's history when `user_id` is
/// given. Queued (202); with `SMS_PROVIDER=log` it is stored and logged, not sent.
#[utoipa::path(post, path = "/api/notifications/sms", tag = "notifications", request_body = SmsRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = Queued),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "A bad field", body = ErrorBody),
    ))]
pub async fn send_sms(
    State(app): State<App>,
    _admin: Admin,
    Json(body): Json<SmsRequest>,
) -> Result<(StatusCode, Json<Queued>), Error> {
    let to = body.to.trim();
    let digits = to.strip_prefix('+').unwrap_or_default();
    let valid = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !valid {
        return Err(
            ValidationError::new("to", "must be a number like +491701234567 (E.164)").into(),
        );
    }
    let text = required_text("text", &body.text, MAX_SMS_CHARS)?;
    let request = Request {
        user_id: body.user_id.map(Id::get),
        channel: Channel::Sms,
        category: Category::Transactional,
        template: "custom",
        recipient: Some(to),
        message: crate::domain::Rendered {
            subject: String::new(),
            text,
            html: None,
        },
        cause: None,
    };
    queued(&app, &request).await
}

/// Query of the notification lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this user's (admins; a customer may name only themselves).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1)]
    user_id: Option<i64>,
    /// `email` or `sms`.
    #[param(pattern = "^(email|sms)$")]
    channel: Option<String>,
    /// `QUEUED`, `SENDING`, `SENT` or `FAILED`.
    #[param(pattern = "^(QUEUED|SENDING|SENT|FAILED)$")]
    status: Option<String>,
    /// Items to return, 1 to 100 (default 20).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Items to skip, 0 to 10,000 (default 0).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 0, maximum = 10_000)]
    offset: Option<i64>,
}

/// The caller's notifications (an admin's: everyone's, or one user's), newest first.
async fn page(
    app: &App,
    caller: &Principal,
    query: ListQuery,
) -> Result<Json<Vec<NotificationResponse>>, Error> {
    let page = microshop_web::pagination::page(query.limit, query.offset)?;
    let named = query
        .user_id
        .map(|raw| {
            Id::new(raw).ok_or_else(|| {
                ApiError::bad_request("invalid_query", NotAnId(raw.to_string()).to_string())
            })
        })
        .transpose()?
        .map(Id::get);
    let user_id = if caller.is_admin() {
        named
    } else {
        match named {
            Some(named) if named != caller.user_id => {
                return Err(Error::NotYours {
                    caller: caller.user_id,
                    named,
                });
            }
            _ => Some(caller.user_id),
        }
    };
    let channel = query.channel.as_deref().map(|name| {
        Channel::parse(name)
            .map(Channel::as_str)
            .ok_or_else(|| ApiError::unprocessable("invalid_query", "channel must be email or sms"))
    });
    let status = query.status.as_deref().map(|name| {
        Status::parse(name).map(Status::as_str).ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_query",
                "status must be QUEUED, SENDING, SENT or FAILED",
            )
        })
    });
    let filter = Filter {
        user_id,
        channel: channel.transpose()?,
        status: status.transpose()?,
    };
    let rows = notifications::list(&app.db, &filter, page.limit, page.offset).await?;
    Ok(Json(
        rows.into_iter().map(NotificationResponse::from).collect(),
    ))
}

/// The caller's notifications, newest first; an admin lists everyone's, filtered by user,
/// channel and status.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<NotificationResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 403, description = "A customer named another user", body = ErrorBody),
        (status = 422, description = "A filter or paging out of range", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<NotificationResponse>>, Error> {
    page(&app, &caller, query).await
}

/// The same as `GET /api/notifications` (the seed's name for it).
#[utoipa::path(get, path = "/api/notifications/history", tag = "notifications", params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<NotificationResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 403, description = "A customer named another user", body = ErrorBody),
        (status = 422, description = "A filter or paging out of range", body = ErrorBody),
    ))]
pub async fn history(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<NotificationResponse>>, Error> {
    page(&app, &caller, query).await
}

/// What a user chose to receive.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Marketing e-mail (offers, news). Mails about the account and orders always go.
    marketing: bool,
}

/// The caller's preferences.
#[utoipa::path(get, path = "/api/notifications/preferences", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Preferences)))]
pub async fn preferences(
    State(app): State<App>,
    caller: Principal,
) -> Result<Json<Preferences>, Error> {
    let marketing = people::wants_marketing(&app.db, caller.user_id).await?;
    Ok(Json(Preferences { marketing }))
}

/// Changes the caller's preferences.
#[utoipa::path(put, path = "/api/notifications/preferences", tag = "notifications",
    request_body = Preferences,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Preferences),
        (status = 422, description = "A bad field", body = ErrorBody),
    ))]
pub async fn set_preferences(
    State(app): State<App>,
    caller: Principal,
    Json(body): Json<Preferences>,
) -> Result<Json<Preferences>, Error> {
    people::set_marketing(&app.db, caller.user_id, body.marketing).await?;
    Ok(Json(body))
}
