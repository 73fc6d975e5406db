//! The shop's programs, and what each needs: database, broker, token keys, Redis, service keys,
//! upstreams.

use std::fmt;

/// The shop's programs: its services, the gateway in front of them, and the payment sandbox (a
/// stand-in card provider).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Users and log-in.
    User,
    /// Products and stock.
    Product,
    /// Orders and the saga.
    Order,
    /// Payments, provider webhooks and refunds.
    Payment,
    /// E-mail (SMTP) and SMS notifications, sent from the other services' events.
    Notification,
    /// The stand-in card provider (no database, no broker, state in memory).
    PaymentSandbox,
    /// The shop's front door: the storefront pages and `/api/...` of every service (no
    /// database, no broker).
    Gateway,
}

impl Service {
    /// Every program, in start order (the gateway last: it forwards to the others).
    pub const ALL: [Self; 7] = [
        Self::User,
        Self::Product,
        Self::Order,
        Self::Payment,
        Self::Notification,
        Self::PaymentSandbox,
        Self::Gateway,
    ];

    /// The services with a database of their own (all but the sandbox and the gateway).
    pub const WITH_DATABASE: [Self; 5] = [
        Self::User,
        Self::Product,
        Self::Order,
        Self::Payment,
        Self::Notification,
    ];

    /// Short name used in object names and status.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Product => "product",
            Self::Order => "order",
            Self::Payment => "payment",
            Self::Notification => "notification",
            Self::PaymentSandbox => "payment-sandbox",
            Self::Gateway => "gateway",
        }
    }

    /// The binary in the `microshop` image.
    pub fn binary(self) -> &'static str {
        match self {
            Self::User => "user-service",
            Self::Product => "product-service",
            Self::Order => "order-service",
            Self::Payment => "payment-service",
            Self::Notification => "notification-service",
            Self::PaymentSandbox => "payment-sandbox",
            Self::Gateway => "gateway",
        }
    }

    /// The HTTP port (the seed's ports, then DESIGN §1's).
    pub fn port(self) -> i32 {
        match self {
            Self::User => 8001,
            Self::Product => 8002,
            Self::Order => 8003,
            Self::Payment => 8004,
            Self::Notification => 8005,
            Self::PaymentSandbox => 8090,
            Self::Gateway => 8000,
        }
    }

    /// Whether it has a database (and a role, and a Secret with its URL).
    pub fn has_database(self) -> bool {
        !matches!(self, Self::PaymentSandbox | Self::Gateway)
    }

    /// Whether it talks to RabbitMQ (every service does, through its outbox; the sandbox and
    /// the gateway do not).
    pub fn uses_amqp(self) -> bool {
        self.has_database()
    }

    /// Whether it verifies access tokens with the shop's public keys (the user service verifies
    /// its own with its signing key; the sandbox takes none; the gateway checks them at the
    /// edge).
    pub fn verifies_tokens(self) -> bool {
        matches!(
            self,
            Self::Product | Self::Order | Self::Payment | Self::Notification | Self::Gateway
        )
    }

    /// Whether it uses the shop's Redis when there is one (log-in throttling, the read cache,
    /// the carts, the gateway's rate limits).
    pub fn uses_redis(self) -> bool {
        matches!(
            self,
            Self::User | Self::Product | Self::Order | Self::Gateway
        )
    }

    /// The services whose calls its internal routes accept, each with its own service key
    /// (DESIGN §7): the product service takes the order service's stock calls, the order
    /// service the payment service's.
    pub fn callers(self) -> &'static [Self] {
        match self {
            Self::Product => &[Self::Order],
            Self::Order => &[Self::Payment],
            Self::User
            | Self::Payment
            | Self::Notification
            | Self::PaymentSandbox
            | Self::Gateway => &[],
        }
    }

    /// The services that call another one's internal routes, so have a service key.
    pub const CALLERS: [Self; 2] = [Self::Order, Self::Payment];

    /// Whether it sends a service key of its own (`SERVICE_KEY`).
    pub fn is_caller(self) -> bool {
        Self::CALLERS.contains(&self)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
