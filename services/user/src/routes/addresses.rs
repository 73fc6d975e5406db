//! The signed-in user's postal addresses: `GET|POST /api/users/addresses`,
//! `GET|PUT|DELETE /api/users/addresses/{id}`. Another user's address is not found.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_auth::Principal;
use microshop_domain::Id;
use microshop_domain::validation::BOUNDED_TEXT_PATTERN;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

use super::AppState;
use crate::db::addresses::AddressRow;
use crate::domain::address::{
    MAX_CITY_CHARS, MAX_LINE_CHARS, MAX_PHONE_CHARS, MAX_POSTAL_CODE_CHARS, PHONE_PATTERN,
    POSTAL_CODE_PATTERN,
};
use crate::domain::{Address, AddressInput, COUNTRY_CODES};
use crate::{Error, addresses};

/// Body of `POST /api/users/addresses` and `PUT /api/users/addresses/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    /// Who receives parcels there, 1 to 200 characters.
    #[schema(example = "Ann Example", schema_with = line_schema)]
    name: String,
    /// Street and number, 1 to 200 characters.
    #[schema(example = "Invalidenstraße 116", schema_with = line_schema)]
    line1: String,
    /// Flat, floor, company, ...; blank or absent for none.
    #[schema(schema_with = line2_schema)]
    line2: Option<String>,
    /// 1 to 100 characters.
    #[schema(example = "Berlin", schema_with = city_schema)]
    city: String,
    /// Letters, digits, spaces and hyphens, at most 16 characters.
    #[schema(example = "10115", schema_with = postal_code_schema)]
    postal_code: String,
    /// ISO 3166-1 alpha-2 code, two capital letters.
    #[schema(example = "DE", schema_with = country_schema)]
    country: String,
    /// For the carrier: an optional `+`, then at least 3 digits among spaces, dots, hyphens and
    /// parentheses; blank or absent for none.
    #[schema(example = "+49 30 1234567", schema_with = phone_schema)]
    phone: Option<String>,
    /// `true` makes it the default address (the one before stops being it); `false` is refused
    /// for the default address (`409 default_address_required`); absent leaves it as it is. A
    /// user's first address is always the default.
    is_default: Option<bool>,
}

impl AddressRequest {
    fn parse(&self) -> Result<Address, Error> {
        Ok(Address::parse(AddressInput {
            name: &self.name,
            line1: &self.line1,
            line2: self.line2.as_deref(),
            city: &self.city,
            postal_code: &self.postal_code,
            country: &self.country,
            phone: self.phone.as_deref(),
        })?)
    }
}

fn line_schema() -> Object {
    microshop_web::schema::required_text(MAX_LINE_CHARS)
}

fn line2_schema() -> Object {
    microshop_web::schema::text_or_null(BOUNDED_TEXT_PATTERN, 0, MAX_LINE_CHARS)
}

fn city_schema() -> Object {
    microshop_web::schema::required_text(MAX_CITY_CHARS)
}

fn postal_code_schema() -> Object {
    microshop_web::schema::text(POSTAL_CODE_PATTERN, 1, MAX_POSTAL_CODE_CHARS)
}

fn phone_schema() -> Object {
    microshop_web::schema::text_or_null(PHONE_PATTERN, 0, MAX_PHONE_CHARS)
}

fn country_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(COUNTRY_CODES))
        .build()
}

/// An address as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressResponse {
    /// Primary key.
    id: i64,
    /// Recipient.
    name: String,
    /// Street and number.
    line1: String,
    /// Second line, if any.
    line2: Option<String>,
    /// City.
    city: String,
    /// Postal code.
    postal_code: String,
    /// ISO 3166-1 alpha-2.
    country: String,
    /// Phone number, if any.
    phone: Option<String>,
    /// Whether it is the default address (exactly one is, whenever the user has any).
    is_default: bool,
    /// When it was added (RFC 3339).
    created_at: DateTime<Utc>,
    /// When it was last changed (RFC 3339).
    updated_at: DateTime<Utc>,
}

impl From<AddressRow> for AddressResponse {
    fn from(row: AddressRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            line1: row.line1,
            line2: row.line2,
            city: row.city,
            postal_code: row.postal_code,
            country: row.country,
            phone: row.phone,
            is_default: row.is_default,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The caller's addresses (at most 20), the default first, then the newest.
#[utoipa::path(get, path = "/api/users/addresses", tag = "addresses", security(("bearer" = [])),
    responses((status = 200, body = Vec<AddressResponse>)))]
pub async fn list_addresses(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<AddressResponse>>, Error> {
    let rows = addresses::list(&state.db, &principal).await?;
    Ok(Json(rows.into_iter().map(AddressResponse::from).collect()))
}

/// Adds an address for the caller.
#[utoipa::path(post, path = "/api/users/addresses", tag = "addresses", security(("bearer" = [])),
    request_body = AddressRequest,
    responses(
        (status = 201, description = "Added", body = AddressResponse),
        (status = 409, description = "The account has 20 addresses already (`address_limit_reached`)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn create_address(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<AddressRequest>,
) -> Result<(StatusCode, Json<AddressResponse>), Error> {
    let address = request.parse()?;
    let row = addresses::add(&state.db, &principal, &address, request.is_default).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// One of the caller's addresses (the order service reads the shipping address of a new order
/// here, with the buyer's own token).
#[utoipa::path(get, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = Id, Path, description = "Address id")),
    responses(
        (status = 200, body = AddressResponse),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such address of the caller", body = ErrorBody),
    ))]
pub async fn get_address(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
) -> Result<Json<AddressResponse>, Error> {
    Ok(Json(
        addresses::get(&state.db, &principal, id).await?.into(),
    ))
}

/// Replaces one of the caller's addresses.
#[utoipa::path(put, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = Id, Path, description = "Address id")),
    request_body = AddressRequest,
    responses(
        (status = 200, description = "Changed", body = AddressResponse),
        (status = 404, description = "No such address of the caller", body = ErrorBody),
        (status = 409, description = "`is_default: false` for the default address (`default_address_required`)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn update_address(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
    Json(request): Json<AddressRequest>,
) -> Result<Json<AddressResponse>, Error> {
    let address = request.parse()?;
    let row = addresses::replace(&state.db, &principal, id, &address, request.is_default).await?;
    Ok(Json(row.into()))
}

/// Deletes one of the caller's addresses; if it was the default, the most recently added one
/// left becomes the default.
#[utoipa::path(delete, path = "/api/users/addresses/{id}", tag = "addresses", security(("bearer" = [])),
    params(("id" = Id, Path, description = "Address id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such address of the caller", body = ErrorBody),
    ))]
pub async fn delete_address(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
) -> Result<StatusCode, Error> {
    addresses::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
