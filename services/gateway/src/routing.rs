//! Which service owns a path: the one table of the gateway's routes. A path belongs to the
//! entry whose prefix it equals or continues with `/`; anything else is not the shop's.

/// The services behind the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upstream {
    /// Accounts, tokens, addresses, the JWKS.
    Users,
    /// Catalogue, reviews, inventory.
    Products,
    /// Carts and orders.
    Orders,
    /// Payments.
    Payments,
    /// Notifications.
    Notifications,
}

impl Upstream {
    /// Every upstream.
    pub const ALL: [Self; 5] = [
        Self::Users,
        Self::Products,
        Self::Orders,
        Self::Payments,
        Self::Notifications,
    ];

    /// Its name in metrics and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "user-service",
            Self::Products => "product-service",
            Self::Orders => "order-service",
            Self::Payments => "payment-service",
            Self::Notifications => "notification-service",
        }
    }
}

/// Path prefixes and their owners (DESIGN §4).
/// The services' `/internal/...` routes are not here: they are for the shop's services only, so
/// the gateway never exposes them.
const TABLE: [(&str, Upstream); 8] = [
    ("/api/users", Upstream::Users),
    ("/.well-known", Upstream::Users),
    ("/api/products", Upstream::Products),
    ("/api/inventory", Upstream::Products),
    ("/api/cart", Upstream::Orders),
    ("/api/orders", Upstream::Orders),
    ("/api/payments", Upstream::Payments),
    ("/api/notifications", Upstream::Notifications),
];

/// The service that owns `path`, if any.
pub fn owner(path: &str) -> Option<Upstream> {
    TABLE.iter().find_map(|(prefix, upstream)| {
        let rest = path.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(*upstream)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_goes_to_its_owner_and_no_further() {
        assert_eq!(owner("/api/users/login"), Some(Upstream::Users));
        assert_eq!(owner("/.well-known/jwks.json"), Some(Upstream::Users));
        assert_eq!(owner("/api/products"), Some(Upstream::Products));
        assert_eq!(owner("/api/products/7/reviews"), Some(Upstream::Products));
        assert_eq!(owner("/api/inventory/7"), Some(Upstream::Products));
        assert_eq!(owner("/api/cart/items/3"), Some(Upstream::Orders));
        assert_eq!(owner("/api/orders/9/pay"), Some(Upstream::Orders));
        assert_eq!(owner("/api/payments/callback"), Some(Upstream::Payments));
        assert_eq!(
            owner("/api/notifications/history"),
            Some(Upstream::Notifications)
        );
        // A prefix is a whole segment: `/api/productsX` is nobody's.
        assert_eq!(owner("/api/productsX"), None);
        assert_eq!(owner("/api"), None);
        assert_eq!(owner("/internal/products/1"), None);
        assert_eq!(owner("/"), None);
    }
}
