//! The two roles of DESIGN §7.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user may do beyond their own resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper: their own profile, addresses, cart, orders, payments, notifications.
    #[default]
    Customer,
    /// Everything: every user, product writes, inventory, order status.
    Admin,
}

impl Role {
    /// `customer` or `admin`, as stored and as tokens carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
        }
    }

    /// The role named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "customer" => Some(Self::Customer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
