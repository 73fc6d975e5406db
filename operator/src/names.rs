//! Names of everything the operator creates, derived from the Microshop's namespace and name.
//! One place, so the reconciler, the cleanup and the tests never disagree.

use crate::crd::Service;

/// Longest Microshop name: `<name>-payment-sandbox` and `<name>-notification-db`, the longest
/// object names, must stay 63-character DNS labels (the CRD enforces it with a CEL rule).
pub const MAX_SHOP_NAME: usize = 40;

/// PostgreSQL identifiers are at most 63 bytes.
const MAX_IDENTIFIER: usize = 63;

/// The finalizer the operator puts on every Microshop.
pub const FINALIZER: &str = "microshop.dev/cleanup";

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "microshop-operator";

/// The field manager that keeps a Deployment's `spec.replicas` when an autoscaler takes it over
/// (`apply::hand_over_replicas`).
pub const HANDOVER_MANAGER: &str = "microshop-operator-handover";

/// Label selecting every object the operator made (its watches select on it).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by=microshop-operator";

/// Finalizer the operator puts on the admin Secrets of a `Delete` shop, per shop, so that
/// deleting them together with the shop (`kubectl delete -f`, a namespace deletion) leaves
/// them readable until the cleanup has dropped the databases and queues.
pub fn admin_secret_finalizer(shop: &str) -> String {
    format!("microshop.dev/shop-{shop}")
}

/// Label naming the Microshop an object belongs to.
pub const SHOP_LABEL: &str = "microshop.dev/shop";

/// The Deployment, Service, HPA and PDB of `service` (and, for the gateway, its Ingress).
pub fn workload(shop: &str, service: Service) -> String {
    format!("{shop}-{service}")
}

/// The Secret holding `service`'s `DATABASE_URL`.
pub fn database_secret(shop: &str, service: Service) -> String {
    format!("{shop}-{service}-db")
}

/// The Secret holding the access-token keys (`JWT_SIGNING_KEY`, `JWT_PUBLIC_KEYS`).
pub fn jwt_secret(shop: &str) -> String {
    format!("{shop}-jwt")
}

/// The Secret holding the shop's first admin account (`ADMIN_EMAIL`, `ADMIN_PASSWORD`), which
/// the user service creates at start-up. Not to be confused with the admin Secrets the spec
/// references (PostgreSQL and RabbitMQ credentials, see [`admin_secret_finalizer`]).
pub fn admin_account_secret(shop: &str) -> String {
    format!("{shop}-admin")
}

/// The Secret holding the service keys, one per calling service, each under the caller's
/// binary name (`order-service`): the caller sends it, the called service accepts it.
pub fn service_keys_secret(shop: &str) -> String {
    format!("{shop}-service-keys")
}

/// The Secret the operator generates the card provider's keys into (`api-key`,
/// `webhook-secret`) when the sandbox is the provider and the spec names no Secret of its own.
pub fn payment_provider_secret(shop: &str) -> String {
    format!("{shop}-payment-provider")
}

/// The Secret holding the gateway's `STOREFRONT_SECRET`, the key that signs the storefront's
/// CSRF tokens: one for every gateway pod, so a form served by one is accepted by another.
pub fn storefront_secret(shop: &str) -> String {
    format!("{shop}-storefront")
}

/// The Secret holding the services' `AMQP_URL` (the user's URI with the shop's vhost).
pub fn amqp_secret(shop: &str) -> String {
    format!("{shop}-amqp")
}

/// The database and role of `service`: `<namespace>_<shop>_<service>`, `-` and `.` turned into
/// `_`; when that is longer than PostgreSQL allows, cut and suffixed with a hash of the whole,
/// so two shops never share one.
pub fn database(namespace: &str, shop: &str, service: Service) -> String {
    let full: String = format!("{namespace}_{shop}_{service}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if full.len() <= MAX_IDENTIFIER {
        return full;
    }
    let hash = format!("{:016x}", fnv1a(full.as_bytes()));
    format!("{}_{}", &full[..MAX_IDENTIFIER - 9], &hash[..8])
}

/// The prefix of the shop's exchange and queue names: the one in the spec, else
/// `<namespace>.<shop>.`.
pub fn topology_prefix(namespace: &str, shop: &str, configured: Option<&str>) -> String {
    configured.map_or_else(|| format!("{namespace}.{shop}."), str::to_owned)
}

/// FNV-1a, 64 bits: a stable hash (std's is randomised per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_postgres_identifiers() {
        assert_eq!(
            database("team-a", "my-shop", Service::Order),
            "team_a_my_shop_order"
        );
    }

    #[test]
    fn long_database_names_are_cut_and_stay_distinct() {
        let namespace = "n".repeat(63);
        let a = database(&namespace, "shop-a", Service::Product);
        let b = database(&namespace, "shop-b", Service::Product);
        assert_eq!(a.len(), MAX_IDENTIFIER);
        assert_ne!(a, b);
        assert_eq!(
            a,
            database(&namespace, "shop-a", Service::Product),
            "stable"
        );
    }

    #[test]
    fn the_longest_object_name_of_the_longest_shop_name_is_a_dns_label() {
        let shop = "s".repeat(MAX_SHOP_NAME);
        let longest = Service::ALL
            .iter()
            .map(|service| workload(&shop, *service).len())
            .chain(
                Service::WITH_DATABASE
                    .iter()
                    .map(|service| database_secret(&shop, *service).len()),
            )
            .chain([
                payment_provider_secret(&shop).len(),
                storefront_secret(&shop).len(),
            ])
            .max();
        assert!(longest <= Some(63), "{longest:?}");
    }

    #[test]
    fn the_topology_prefix_defaults_to_namespace_and_name() {
        assert_eq!(topology_prefix("ns", "shop", None), "ns.shop.");
        assert_eq!(topology_prefix("ns", "shop", Some("")), "");
    }
}
