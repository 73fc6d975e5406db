//! The user service's addresses of the signed-in user.

use microshop_http_client::UpstreamError;
use serde::{Deserialize, Serialize};

use super::Api;
use crate::routing::Upstream;

/// A saved postal address.
#[derive(Debug, Clone, Deserialize)]
pub struct Address {
    /// Its id.
    pub id: i64,
    /// Recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Second line.
    #[serde(default)]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// The default address.
    #[serde(default)]
    pub is_default: bool,
}

/// A new address, as typed into a form.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewAddress {
    /// Recipient.
    #[serde(default)]
    pub name: String,
    /// Street and number.
    #[serde(default)]
    pub line1: String,
    /// Second line (blank: none).
    #[serde(default)]
    pub line2: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Postal code.
    #[serde(default)]
    pub postal_code: String,
    /// Country code.
    #[serde(default)]
    pub country: String,
    /// Phone (blank: none).
    #[serde(default)]
    pub phone: String,
}

impl NewAddress {
    /// Whether every field is blank (the form's new-address part left empty).
    pub fn is_blank(&self) -> bool {
        [
            &self.name,
            &self.line1,
            &self.line2,
            &self.city,
            &self.postal_code,
            &self.country,
            &self.phone,
        ]
        .iter()
        .all(|field| field.trim().is_empty())
    }

    /// Whether `saved` is this address (so that a form sent twice saves it once).
    pub fn matches(&self, saved: &Address) -> bool {
        let same = |typed: &str, stored: &str| typed.trim() == stored.trim();
        let optional = |typed: &str, stored: Option<&String>| {
            typed.trim() == stored.map_or("", |value| value.trim())
        };
        same(&self.name, &saved.name)
            && same(&self.line1, &saved.line1)
            && optional(&self.line2, saved.line2.as_ref())
            && same(&self.city, &saved.city)
            && same(&self.postal_code, &saved.postal_code)
            && self
                .country
                .trim()
                .eq_ignore_ascii_case(saved.country.trim())
            && optional(&self.phone, saved.phone.as_ref())
    }
}

/// The body the user service takes: blanks left out, the country in capitals.
#[derive(Serialize)]
struct AddressBody<'a> {
    name: &'a str,
    line1: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line2: Option<&'a str>,
    city: &'a str,
    postal_code: &'a str,
    country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
}

impl<'a> From<&'a NewAddress> for AddressBody<'a> {
    fn from(address: &'a NewAddress) -> Self {
        let optional = |value: &'a str| Some(value.trim()).filter(|value| !value.is_empty());
        Self {
            name: address.name.trim(),
            line1: address.line1.trim(),
            line2: optional(&address.line2),
            city: address.city.trim(),
            postal_code: address.postal_code.trim(),
            country: address.country.trim().to_ascii_uppercase(),
            phone: optional(&address.phone),
        }
    }
}

impl Api {
    /// The caller's addresses, the default first.
    pub async fn addresses(&self) -> Result<Vec<Address>, UpstreamError> {
        self.client(Upstream::Users)
            .get_json_with("/api/users/addresses", &self.headers)
            .await
    }

    /// Saves `address` for the caller; its id. An address saved already is not saved twice.
    pub async fn save_address(&self, address: &NewAddress) -> Result<i64, UpstreamError> {
        let saved = self.addresses().await?;
        if let Some(same) = saved.iter().find(|saved| address.matches(saved)) {
            return Ok(same.id);
        }
        let created: Address = self
            .client(Upstream::Users)
            .post_json_with(
                "/api/users/addresses",
                &AddressBody::from(address),
                &self.headers,
            )
            .await?;
        Ok(created.id)
    }

    /// Deletes the caller's address `id`.
    pub async fn delete_address(&self, id: i64) -> Result<(), UpstreamError> {
        self.client(Upstream::Users)
            .delete_with(&format!("/api/users/addresses/{id}"), &self.headers)
            .await
    }
}
