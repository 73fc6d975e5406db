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
const TABLE: [(&str, Upstream); 9] = [
    ("/api/users", Upstream::Users),
    ("/.well-known", Upstream::Users),
    ("/api/products", Upstream::Products),
    ("/api/reviews", Upstream::Products),
    ("/api/inventory", Upstream::Products),
    ("/api/cart", Upstream::Orders),
    ("/api/orders", Upstream::Orders),
    ("/api/payments", Upstream::Payments),
    ("/api/notifications", Upstream::Notifications),
];

/// The seed's `/api/v1` paths (DESIGN §4) and where they live now: the one rewrite table.
const V1: [(&str, &str); 6] = [
    ("/api/v1/register", "/api/users/register"),
    ("/api/v1/login", "/api/users/login"),
    ("/api/v1/profile", "/api/users/profile"),
    ("/api/v1/products", "/api/products"),
    ("/api/v1/orders", "/api/orders"),
    ("/api/v1/notifications", "/api/notifications"),
];

/// `path` as the services know it: a seed `/api/v1` path rewritten, any other unchanged.
pub fn rewrite(path: &str) -> std::borrow::Cow<'_, str> {
    for (old, new) in V1 {
        if let Some(rest) = path.strip_prefix(old) {
            if rest.is_empty() || rest.starts_with('/') {
                return format!("{new}{rest}").into();
            }
        }
    }
    path.into()
}

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
        assert_eq!(owner("/api/reviews/12"), Some(Upstream::Products));
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

    #[test]
    fn the_seed_paths_are_rewritten_to_their_services_paths() {
        assert_eq!(rewrite("/api/v1/register"), "/api/users/register");
        assert_eq!(rewrite("/api/v1/login"), "/api/users/login");
        assert_eq!(rewrite("/api/v1/profile"), "/api/users/profile");
        assert_eq!(rewrite("/api/v1/products/7"), "/api/products/7");
        assert_eq!(rewrite("/api/v1/orders/9/pay"), "/api/orders/9/pay");
        assert_eq!(
            rewrite("/api/v1/notifications/history"),
            "/api/notifications/history"
        );
        assert_eq!(rewrite("/api/v1/loginX"), "/api/v1/loginX");
        assert_eq!(rewrite("/api/products"), "/api/products");
        // A rewritten path has an owner; an unknown v1 path has none.
        assert_eq!(owner(&rewrite("/api/v1/orders")), Some(Upstream::Orders));
        assert_eq!(owner(&rewrite("/api/v1/nothing")), None);
    }
}
