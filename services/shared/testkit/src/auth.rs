//! Access tokens in tests: one signing key per test process, the arguments and environment that
//! give it to a service, and tokens for any user and role.

use std::sync::OnceLock;
use std::time::Duration;

use microshop_auth::token::Claims;
use microshop_auth::{Audience, Issuer, Role, SigningKey};
use secrecy::ExposeSecret;

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(SigningKey::generate)
}

/// The tests' signing key (PKCS#8 PEM), what the user service signs with.
pub fn signing_key_pem() -> String {
    key().to_pem().expose_secret().to_owned()
}

/// The tests' public key (SPKI PEM), what every other service verifies with.
pub fn public_keys_pem() -> String {
    key().public().to_pem()
}

/// The issuer and audience the services default to.
pub fn audience() -> Audience {
    Audience {
        issuer: "microshop".to_owned(),
        audience: "microshop".to_owned(),
    }
}

fn issuer() -> &'static Issuer {
    static ISSUER: OnceLock<Issuer> = OnceLock::new();
    ISSUER.get_or_init(|| Issuer::new(key(), audience(), Duration::from_secs(900)))
}

/// A valid access token for `user_id` as `role`, signed with the tests' key.
pub fn token(user_id: i64, role: Role) -> String {
    issuer().issue(user_id, role).token
}

/// A token for `user_id` as `role` whose claims `change` alters, signed with the tests' key
/// (an expired one, one for another audience, ...).
pub fn token_with(user_id: i64, role: Role, change: impl FnOnce(&mut Claims)) -> String {
    let mut claims = issuer().claims(user_id, role);
    change(&mut claims);
    issuer().sign(&claims)
}

/// A well-formed token for `user_id` as `role` signed by a key no service trusts.
pub fn token_of_another_key(user_id: i64, role: Role) -> String {
    Issuer::new(
        &SigningKey::generate(),
        audience(),
        Duration::from_secs(900),
    )
    .issue(user_id, role)
    .token
}

/// Tokens that must all be refused (each with the code the service answers), for `user_id`
/// as `role`: missing claims aside, every way a token can be bad.
pub fn bad_tokens(user_id: i64, role: Role) -> Vec<(&'static str, String)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let good = token(user_id, role);
    let parts: Vec<&str> = good.split('.').collect();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("base64url"))
            .expect("a JSON header");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
            .expect("a JSON payload");
    let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let mut none = header.clone();
    none["alg"] = serde_json::json!("none");
    payload["sub"] = serde_json::json!((user_id + 1).to_string());
    vec![
        (
            "token_expired",
            token_with(user_id, role, |c| {
                c.iat -= 7200;
                c.exp -= 7200;
            }),
        ),
        (
            "token_wrong_audience",
            token_with(user_id, role, |c| c.aud = "another-shop".into()),
        ),
        (
            "token_wrong_issuer",
            token_with(user_id, role, |c| c.iss = "someone-else".into()),
        ),
        ("token_invalid", token_of_another_key(user_id, role)),
        (
            "token_malformed",
            format!("{}.{}.", encode(&none), parts[1]),
        ),
        (
            "token_invalid",
            format!("{}.{}.{}", parts[0], encode(&payload), parts[2]),
        ),
        ("token_malformed", "not-a-token".to_owned()),
    ]
}

/// Command-line arguments that give the user service the tests' signing key.
pub fn issuer_args() -> Vec<String> {
    // `=`: the PEM starts with dashes, which would otherwise read as a flag.
    vec![format!("--jwt-signing-key={}", signing_key_pem())]
}

/// Command-line arguments that give a service the tests' public key, and make its internal
/// routes accept the calling services' keys.
pub fn verifier_args() -> Vec<String> {
    vec![
        format!("--jwt-public-keys={}", public_keys_pem()),
        format!("--service-keys={}", service_keys()),
    ]
}

/// The key of the calling service `caller` in this test process (its name and 64 random hex
/// digits, new in every test process).
pub fn service_key(caller: &str) -> String {
    static SEED: OnceLock<String> = OnceLock::new();
    let seed = SEED.get_or_init(|| {
        format!(
            "{}{}",
            uuid::Uuid::now_v7().simple(),
            uuid::Uuid::now_v7().simple()
        )
    });
    format!("{caller}-{seed}")
}

/// `SERVICE_KEYS` accepting the shop's calling services (the order service, which calls the
/// product service, and the payment service, which calls the order service).
pub fn service_keys() -> String {
    format!(
        "order-service={},payment-service={}",
        service_key("order-service"),
        service_key("payment-service")
    )
}

/// Command-line arguments that give `caller` its service key.
pub fn caller_args(caller: &str) -> Vec<String> {
    vec![format!("--service-key={}", service_key(caller))]
}

/// The card provider's API key and webhook secret of the tests (the payment service's
/// `PROVIDER_API_KEY` and `WEBHOOK_SECRETS`, the payment sandbox's `API_KEY` and
/// `WEBHOOK_SECRET`).
pub const PROVIDER_API_KEY: &str = "sk_test_0123456789abcdef0123456789abcdef";
/// See [`PROVIDER_API_KEY`].
pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef0123456789";

/// Environment variables that give a service binary the keys (each reads the ones it needs;
/// `SERVICE_KEY` is the order service's, which the payment service's format matches).
pub fn env() -> [(&'static str, String); 6] {
    [
        ("JWT_SIGNING_KEY", signing_key_pem()),
        ("JWT_PUBLIC_KEYS", public_keys_pem()),
        ("SERVICE_KEYS", service_keys()),
        ("SERVICE_KEY", service_key("order-service")),
        ("PROVIDER_API_KEY", PROVIDER_API_KEY.to_owned()),
        ("WEBHOOK_SECRETS", WEBHOOK_SECRET.to_owned()),
    ]
}
