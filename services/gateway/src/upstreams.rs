//! The services behind the gateway as `microshop-http-client` upstreams: one per service, each
//! with its own deadline, breaker and metrics, shared by the proxy, the aggregation and the
//! storefront, so that a failing service trips one breaker whoever calls it.

use microshop_http_client::{Upstream as Client, UpstreamConfig, UpstreamMetrics};

use crate::Config;
use crate::routing::Upstream;

/// One client per service.
pub struct Upstreams {
    users: Client,
    products: Client,
    orders: Client,
    payments: Client,
    notifications: Client,
}

impl Upstreams {
    /// The services at the URLs of `config`, each call bounded by `config.upstream_timeout`.
    pub fn new(config: &Config, metrics: &UpstreamMetrics) -> Self {
        let tunables = UpstreamConfig {
            deadline: config.upstream_timeout,
            breaker_cool_down: config.breaker_cool_down,
            ..UpstreamConfig::default()
        };
        let client = |upstream: Upstream, url: &str| {
            Client::new(upstream.name(), url, tunables.clone(), metrics.clone())
        };
        Self {
            users: client(Upstream::Users, &config.user_service_url),
            products: client(Upstream::Products, &config.product_service_url),
            orders: client(Upstream::Orders, &config.order_service_url),
            payments: client(Upstream::Payments, &config.payment_service_url),
            notifications: client(Upstream::Notifications, &config.notification_service_url),
        }
    }

    /// The client of `upstream`.
    pub fn get(&self, upstream: Upstream) -> &Client {
        match upstream {
            Upstream::Users => &self.users,
            Upstream::Products => &self.products,
            Upstream::Orders => &self.orders,
            Upstream::Payments => &self.payments,
            Upstream::Notifications => &self.notifications,
        }
    }
}
