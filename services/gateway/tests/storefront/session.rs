//! The session cookie: set on sign-in, needed by protected pages, refreshed when the access
//! token expires, gone after signing out; sign-in returns only to pages of the shop.

use gateway::storefront::cookie::Cookies;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{SECRET, Shop, session_of};

#[sqlx::test]
async fn signing_in_sets_an_http_only_lax_cookie_that_protected_pages_need(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    shop.account("ann@example.com", "Ann Example").await;
    let mut browser = shop.browser();

    // Without a session, a protected page sends the browser to sign in, and back afterwards.
    for (page, login) in [
        ("/account", "/login?next=%2Faccount"),
        ("/orders/7", "/login?next=%2Forders%2F7"),
        (
            "/admin/orders?status=PAID",
            "/login?next=%2Fadmin%2Forders%3Fstatus%3DPAID",
        ),
    ] {
        let answer = shop.browser().get(page).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(answer.location(), login, "{page}");
    }

    // A visitor's first page sets a cookie holding only a nonce.
    let first = browser.get("/login?next=/account").await;
    let cookie = first.session_cookie().unwrap();
    for attribute in ["; HttpOnly", "; SameSite=Lax", "; Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"));
    assert!(session_of(browser.cookie.as_ref().unwrap()).auth.is_none());
    assert!(first.html.contains(r#"name="next" value="/account""#));

    let signed_in = browser.sign_in("ann@example.com", "/account").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert_eq!(signed_in.location(), "/account");
    let cookie = signed_in.session_cookie().unwrap();
    for attribute in ["; HttpOnly", "; SameSite=Lax", "; Path=/", "; Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(cookie.len() < 4096);
    let session = session_of(browser.cookie.as_ref().unwrap());
    let auth = session.auth.unwrap();
    assert_eq!(auth.user.name, "Ann Example");

    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.html.contains("ann@example.com") && account.html.contains("Sign out"));
    assert!(
        !account.html.contains(r#"href="/admin/orders""#),
        "no admin link for customers"
    );
    let admin = browser.get("/admin/inventory").await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    admin.assert_html();

    // Signing out ends the session at the user service and deletes the cookie.
    let csrf = account.csrf();
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/");
    assert!(out.session_cookie().unwrap().contains("Max-Age=0"));
    let refresh = json!({"refresh_token": auth.refresh_token});
    let spent = shop
        .users
        .client
        .post_json("/api/users/refresh", &refresh)
        .await;
    assert_eq!(spent.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn signing_in_returns_only_to_pages_of_the_shop(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    shop.account("ann@example.com", "Ann").await;
    for (next, to) in [
        ("/cart", "/cart"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let answer = shop.browser().sign_in("ann@example.com", next).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(answer.location(), to, "{next}");
    }
    let form = shop.browser().get("/login?next=//evil.example").await;
    assert!(
        form.html.contains(r#"name="next" value="""#),
        "{}",
        form.html
    );
}

#[sqlx::test]
async fn an_expired_access_token_is_refreshed_and_a_refused_refresh_signs_out(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    shop.account("ann@example.com", "Ann").await;
    let cookies = Cookies::new(SECRET.as_bytes(), false);
    let mut browser = shop.browser();
    browser.sign_in("ann@example.com", "/").await;
    let mut session = session_of(browser.cookie.as_ref().unwrap());
    let old = session.auth.clone().unwrap();

    // The access token is due: the page refreshes it on the way and stores the new tokens.
    session.auth.as_mut().unwrap().refresh_at = 0;
    browser.cookie = Some(cookies.encode(&session));
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.session_cookie().is_some(), "the new tokens are stored");
    let fresh = session_of(browser.cookie.as_ref().unwrap()).auth.unwrap();
    assert_ne!(fresh.refresh_token, old.refresh_token);
    assert!(!fresh.needs_refresh());
    assert_eq!(
        session_of(browser.cookie.as_ref().unwrap()).nonce,
        session.nonce
    );
    let again = browser.get("/account").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.session_cookie().is_none(),
        "nothing changed, nothing is stored"
    );

    // A refresh the user service refuses is a signed-out user.
    let mut revoked = session_of(browser.cookie.as_ref().unwrap());
    let auth = revoked.auth.as_mut().unwrap();
    auth.refresh_at = 0;
    auth.refresh_token = "not-a-refresh-token".to_owned();
    browser.cookie = Some(cookies.encode(&revoked));
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2Faccount");
    assert!(page.session_cookie().unwrap().contains("Max-Age=0"));
    assert!(browser.cookie.is_none());
}

#[sqlx::test]
async fn a_service_that_does_not_answer_is_a_503_page(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    shop.account("ann@example.com", "Ann").await;
    let mut browser = shop.browser();
    browser.sign_in("ann@example.com", "/").await;
    // The notification service of this shop is not running.
    let page = browser.get("/notifications").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    page.assert_html();
    assert!(page.headers.contains_key("retry-after"));
    assert!(
        page.html
            .contains("The notification service is unavailable, try again shortly"),
        "{}",
        page.html
    );
    // A session cookie edited by hand is no session.
    browser.cookie = Some(browser.cookie.take().unwrap().replace('.', "x."));
    assert_eq!(browser.get("/cart").await.status, StatusCode::SEE_OTHER);
}
