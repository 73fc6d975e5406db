//! The Redis the user service counts failed log-ins in, the product service keeps its read cache
//! in and the order service keeps the carts in (`spec.redis`, optional). The pods read its URL
//! straight from the user's Secret; the operator reads it too, for those services' credentials
//! checksum (a new URL rolls their pods) and to report a missing Secret.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::apply::secret_value;
use crate::error::Error;
use crate::resources::Shop;

/// What the Redis Secret must hold.
pub const REDIS_URL: &str = "Redis URL (redis://host:6379/0, rediss:// for TLS)";

/// The URL in the Secret `spec.redis.secretRef` names; `None` without `spec.redis`.
pub async fn url(shop: &Shop<'_>, client: &Client) -> Result<Option<String>, Error> {
    let Some(redis) = &shop.resource.spec.redis else {
        return Ok(None);
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let url = secret_value(&secrets, &shop.namespace, &redis.secret_ref, REDIS_URL).await?;
    Ok(Some(url))
}
