//! The carts in Redis: one hash per user ([`super::fields`]), written only by Lua scripts
//! ([`super::scripts`]), each atomic, refreshing the expiry (`CART_TTL`) and answering the cart as
//! it is afterwards. Each round trip is bounded (`CART_REDIS_TIMEOUT_MS`): Redis down, slow or not
//! yet connected is [`CartError::Unavailable`], warned once per outage. A cart never holds stock.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use microshop_limits::Redis;
use redis::RedisResult;

use super::domain::{Cart, MAX_LINES, MAX_QUANTITY, Quantity};
use super::fields::{pairs, parse};
use super::metrics::{CartMetrics, Outcome};
use super::scripts::{ADD_SCRIPT, REMOVE_SCRIPT, SET_SCRIPT};

/// What a cart operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    /// Redis did not answer in time, failed, or is not connected yet: nothing was changed (or,
    /// for a write that timed out, it may still be applied once).
    #[error("the cart store is unavailable: {0}")]
    Unavailable(String),
    /// The cart has no line of this product.
    #[error("product {0} is not in your cart")]
    LineNotFound(i64),
    /// A new line would pass the most lines.
    #[error("your cart already has {max} products, the most allowed; remove one first")]
    Full {
        /// The most lines.
        max: usize,
    },
    /// The line would pass the most units.
    #[error(
        "your cart has {in_cart} of product {product_id}; adding {adding} would pass the most units of one product, {max}"
    )]
    QuantityLimit {
        /// The product.
        product_id: i64,
        /// Units in the cart now.
        in_cart: i64,
        /// Units asked to add.
        adding: i64,
        /// The most units of one product.
        max: i64,
    },
}

/// How an add changed a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// Whether the line is new (else it grew).
    pub created: bool,
    /// The cart afterwards.
    pub cart: Cart,
}

/// Settings of [`Carts`].
#[derive(Debug, Clone, Copy)]
pub struct CartSettings {
    /// How long a cart is kept after its last change.
    pub ttl: Duration,
    /// Bound on one Redis round trip.
    pub timeout: Duration,
}

/// The users' carts in Redis. Cheap to clone.
#[derive(Clone)]
pub struct Carts {
    redis: Redis,
    settings: CartSettings,
    metrics: CartMetrics,
    /// Whether the last round trip failed: one warning per outage.
    down: std::sync::Arc<AtomicBool>,
}

impl Carts {
    /// The carts on `redis`, counted on `metrics`.
    pub fn new(redis: Redis, settings: CartSettings, metrics: CartMetrics) -> Self {
        Self {
            redis,
            settings,
            metrics,
            down: std::sync::Arc::default(),
        }
    }

    /// `user_id`'s cart (empty when there is none).
    pub async fn get(&self, user_id: i64) -> Result<Cart, CartError> {
        self.counted("get", self.read(user_id).await)
    }

    /// Adds `quantity` units of `product_id` to `user_id`'s cart.
    pub async fn add(
        &self,
        user_id: i64,
        product_id: i64,
        quantity: Quantity,
    ) -> Result<Added, CartError> {
        let mut invocation = ADD_SCRIPT.prepare_invoke();
        invocation
            .key(self.key(user_id))
            .arg(product_id)
            .arg(quantity.get())
            .arg(MAX_LINES)
            .arg(MAX_QUANTITY)
            .arg(self.ttl_ms())
            .arg(now_ms());
        let answer = self
            .bounded(async |connection| invocation.invoke_async(connection).await)
            .await;
        let added = answer.and_then(
            |(status, value, created, fields): (i64, i64, i64, Vec<String>)| match status {
                0 => Ok(Added {
                    created: created == 1,
                    cart: parse(&pairs(fields)),
                }),
                -1 => Err(CartError::Full { max: MAX_LINES }),
                _ => Err(CartError::QuantityLimit {
                    product_id,
                    in_cart: value,
                    adding: quantity.get(),
                    max: MAX_QUANTITY,
                }),
            },
        );
        self.counted("add", added)
    }

    /// Sets the units of `product_id` in `user_id`'s cart.
    pub async fn set(
        &self,
        user_id: i64,
        product_id: i64,
        quantity: Quantity,
    ) -> Result<Cart, CartError> {
        let mut invocation = SET_SCRIPT.prepare_invoke();
        invocation
            .key(self.key(user_id))
            .arg(product_id)
            .arg(quantity.get())
            .arg(self.ttl_ms())
            .arg(now_ms());
        let answer = self
            .bounded(async |connection| invocation.invoke_async(connection).await)
            .await;
        let set = answer.and_then(|(status, fields): (i64, Vec<String>)| {
            if status == 0 {
                Ok(parse(&pairs(fields)))
            } else {
                Err(CartError::LineNotFound(product_id))
            }
        });
        self.counted("set", set)
    }

    /// Removes the line of `product_id` from `user_id`'s cart.
    pub async fn remove(&self, user_id: i64, product_id: i64) -> Result<Cart, CartError> {
        let removed = self
            .remove_lines(user_id, &[(product_id, None)])
            .await
            .and_then(|(removed, cart)| {
                if removed == 1 {
                    Ok(cart)
                } else {
                    Err(CartError::LineNotFound(product_id))
                }
            });
        self.counted("remove", removed)
    }

    /// Empties `user_id`'s cart.
    pub async fn clear(&self, user_id: i64) -> Result<(), CartError> {
        let mut command = redis::cmd("DEL");
        command.arg(self.key(user_id));
        let cleared = self
            .bounded(async |connection| command.query_async::<()>(connection).await)
            .await;
        self.counted("clear", cleared)
    }

    /// `user_id`'s lines as `(product_id, quantity)`, in the order first added (for checkout).
    pub async fn lines(&self, user_id: i64) -> Result<Vec<(i64, i64)>, CartError> {
        let lines = self.read(user_id).await.map(|cart| {
            cart.lines
                .iter()
                .map(|line| (line.product_id, line.quantity))
                .collect()
        });
        self.counted("lines", lines)
    }

    /// Removes each of `ordered` (`(product_id, quantity)`) from `user_id`'s cart, atomically,
    /// only if the line still has that quantity: a line the buyer changed meanwhile stays.
    /// Returns the number of lines removed.
    pub async fn remove_ordered(
        &self,
        user_id: i64,
        ordered: &[(i64, i64)],
    ) -> Result<usize, CartError> {
        let lines: Vec<(i64, Option<i64>)> = ordered.iter().map(|&(p, q)| (p, Some(q))).collect();
        let removed = self
            .remove_lines(user_id, &lines)
            .await
            .map(|(removed, _)| usize::try_from(removed).unwrap_or(0));
        self.counted("remove_ordered", removed)
    }

    /// Whether Redis answers a `PING` in time (reported on `/health/ready`, never failing it:
    /// only the carts need Redis).
    pub async fn ping(&self) -> Result<(), String> {
        let mut connection = self
            .redis
            .connection()
            .ok_or_else(|| "not connected yet".to_owned())?;
        let ping = redis::cmd("PING");
        within(
            self.settings.timeout,
            ping.query_async::<String>(&mut connection),
        )
        .await
        .map(drop)
    }

    /// The stored cart, uncounted.
    async fn read(&self, user_id: i64) -> Result<Cart, CartError> {
        let mut command = redis::cmd("HGETALL");
        command.arg(self.key(user_id));
        let fields: HashMap<String, String> = self
            .bounded(async |connection| command.query_async(connection).await)
            .await?;
        Ok(parse(&fields))
    }

    /// Runs the remove script on `lines` (`None`: whatever the quantity); uncounted.
    async fn remove_lines(
        &self,
        user_id: i64,
        lines: &[(i64, Option<i64>)],
    ) -> Result<(i64, Cart), CartError> {
        let mut invocation = REMOVE_SCRIPT.prepare_invoke();
        invocation
            .key(self.key(user_id))
            .arg(self.ttl_ms())
            .arg(now_ms());
        for (product_id, quantity) in lines {
            invocation.arg(product_id);
            match quantity {
                Some(quantity) => invocation.arg(quantity),
                None => invocation.arg("*"),
            };
        }
        let (removed, fields): (i64, Vec<String>) = self
            .bounded(async |connection| invocation.invoke_async(connection).await)
            .await?;
        Ok((removed, parse(&pairs(fields))))
    }

    /// Runs `call` on the shared connection within the timeout.
    async fn bounded<T, F>(&self, call: F) -> Result<T, CartError>
    where
        F: AsyncFnOnce(&mut redis::aio::ConnectionManager) -> RedisResult<T>,
    {
        let Some(mut connection) = self.redis.connection() else {
            return Err(self.failed("not connected yet"));
        };
        match within(self.settings.timeout, call(&mut connection)).await {
            Ok(value) => {
                if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers the carts again");
                }
                Ok(value)
            }
            Err(reason) => Err(self.failed(&reason)),
        }
    }

    /// Counts how `operation` ended and passes its result on.
    fn counted<T>(
        &self,
        operation: &'static str,
        result: Result<T, CartError>,
    ) -> Result<T, CartError> {
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(CartError::Unavailable(_)) => Outcome::Unavailable,
            Err(_) => Outcome::Refused,
        };
        self.metrics.count(operation, outcome);
        result
    }

    /// Warns once per outage and makes the error.
    fn failed(&self, reason: &str) -> CartError {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                reason,
                "Redis does not answer the carts; cart routes answer 503 until it does"
            );
        }
        CartError::Unavailable(reason.to_owned())
    }

    /// `user_id`'s cart key, under the service's prefix.
    fn key(&self, user_id: i64) -> String {
        self.redis.key(&format!("cart:{user_id}"))
    }

    /// The expiry a write sets, in milliseconds (at least 1: 0 would delete the cart).
    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.settings.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// `future`'s value, or why there is none within `limit`.
async fn within<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
    }
}

/// Now, as a cart's `_at` holds it.
fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}
