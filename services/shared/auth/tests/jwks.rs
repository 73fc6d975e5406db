//! Keys from a JWKS URL, served over real HTTP: a service follows the issuer's key rotation
//! without a restart, and a flood of tokens naming unknown keys causes at most one fetch.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use clap::Parser;
use microshop_auth::{Audience, Auth, AuthError, Issuer, JwkSet, Role, SigningKey, VerifyConfig};

/// What the fake issuer serves, and how often it was asked.
#[derive(Clone, Default)]
struct Jwks {
    set: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

async fn serve(jwks: Jwks) -> String {
    let app = Router::new()
        .route(
            "/.well-known/jwks.json",
            get(|State(jwks): State<Jwks>| async move {
                jwks.fetches.fetch_add(1, Ordering::SeqCst);
                axum::Json(jwks.set.lock().unwrap().clone())
            }),
        )
        .with_state(jwks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/.well-known/jwks.json")
}

fn token(key: &SigningKey, user_id: i64) -> String {
    let audience = Audience {
        issuer: "microshop".into(),
        audience: "microshop".into(),
    };
    Issuer::new(key, audience, Duration::from_secs(900))
        .issue(user_id, Role::Customer)
        .token
}

/// The settings of a service started with `args`.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    auth: VerifyConfig,
}

fn config(args: &[&str]) -> Result<VerifyConfig, clap::Error> {
    Cli::try_parse_from(std::iter::once("service").chain(args.iter().copied())).map(|cli| cli.auth)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_service_follows_a_key_rotation_through_the_jwks_and_unknown_keys_fetch_at_most_once() {
    let (old, new, forged) = (
        SigningKey::generate(),
        SigningKey::generate(),
        SigningKey::generate(),
    );
    let jwks = Jwks::default();
    *jwks.set.lock().unwrap() = JwkSet::of(std::slice::from_ref(old.public()));
    let url = serve(jwks.clone()).await;
    let config = config(&[&format!("--jwt-jwks-url={url}")]).unwrap();
    let auth = Auth::from_config(&config, &prometheus::Registry::new())
        .await
        .unwrap();
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "fetched at start");

    let principal = auth
        .authenticate(Some(&bearer(&token(&old, 7))))
        .await
        .unwrap();
    assert_eq!(principal.user_id, 7);

    // The issuer rotates: it now publishes (and signs with) the new key first.
    *jwks.set.lock().unwrap() = JwkSet::of(&[new.public().clone(), old.public().clone()]);
    let principal = auth
        .authenticate(Some(&bearer(&token(&new, 8))))
        .await
        .unwrap();
    assert_eq!(
        principal.user_id, 8,
        "the new key is fetched when first seen"
    );
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);

    // Tokens of a key nobody publishes are refused, and do not make the service hammer the
    // issuer: the last fetch was just now.
    for _ in 0..20 {
        let refused = auth.authenticate(Some(&bearer(&token(&forged, 9)))).await;
        assert_eq!(refused, Err(AuthError::UnknownKey));
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_jwks_at_start_refuses_tokens_until_it_answers() {
    // Nothing listens on this port (bound, then released).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let config = config(&[&format!("--jwt-jwks-url={url}")]).unwrap();
    let auth = Auth::from_config(&config, &prometheus::Registry::new())
        .await
        .unwrap();
    let key = SigningKey::generate();
    let refused = auth.authenticate(Some(&bearer(&token(&key, 1)))).await;
    assert_eq!(refused, Err(AuthError::UnknownKey));
}

#[test]
fn keys_must_come_from_somewhere() {
    assert!(config(&[]).is_err());
}
