//! Forms: CSRF-protected, refusals shown in the alert, user text escaped.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::{PASSWORD, Shop};

#[sqlx::test]
async fn a_review_with_a_script_shows_as_text(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    let kettle = shop
        .product(json!({"name": "Kettle", "price": 39.5, "stock": 12}))
        .await;
    shop.account("ann@example.com", "Ann <b>Example</b>").await;
    let mut browser = shop.browser();
    browser.sign_in("ann@example.com", "/").await;

    let page = browser.get(&format!("/products/{kettle}")).await;
    assert!(page.html.contains("Post review"), "{}", page.html);
    let text = "<script>alert(\"pwned\")</script>\r\nBoils fast.";
    let posted = browser
        .post(
            &format!("/products/{kettle}/reviews"),
            &[("rating", "4"), ("text", text), ("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.html);
    assert_eq!(posted.location(), format!("/products/{kettle}#reviews"));

    let page = browser.get(&format!("/products/{kettle}")).await;
    assert!(page.html.contains(r#"data-testid="review""#));
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
    // As named or numbered character references, whichever the escaper writes.
    let escaped = [("&lt;", "&gt;", "&quot;"), ("&#60;", "&#62;", "&#34;")]
        .map(|(lt, gt, quote)| format!("{lt}script{gt}alert({quote}pwned{quote}){lt}/script{gt}"));
    assert!(
        escaped.iter().any(|text| page.html.contains(text)),
        "{}",
        page.html
    );
    // The user's name in the header is escaped as well.
    assert!(!page.html.contains("<b>Example</b>"));
    let reviews = shop.reviews(kettle).await;
    assert_eq!(
        reviews[0]["text"],
        "<script>alert(\"pwned\")</script>\nBoils fast."
    );
}

#[sqlx::test]
async fn a_form_without_the_session_s_csrf_token_is_refused_and_changes_nothing(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    let kettle = shop
        .product(json!({"name": "Kettle", "price": 39.5, "stock": 12}))
        .await;
    shop.account("ann@example.com", "Ann").await;
    let mut ann = shop.browser();
    ann.sign_in("ann@example.com", "/").await;
    let mut other = shop.browser();
    let others_token = other.get("/login").await.csrf();

    let path = format!("/products/{kettle}/reviews");
    for csrf in [
        None,
        Some("deadbeef"),
        Some("not hex"),
        Some(others_token.as_str()),
    ] {
        let mut fields = vec![("rating", "5"), ("text", "forged")];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        let refused = ann.post(&path, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{csrf:?}");
        refused.assert_html();
        assert!(refused.html.contains("Form expired"), "{}", refused.html);
    }
    assert!(shop.reviews(kettle).await.is_empty());

    // Signing up and in are protected too, also for a visitor without any cookie yet.
    let mut stranger = shop.browser();
    let fields = [
        ("email", "mallory@example.com"),
        ("name", "Mallory"),
        ("password", PASSWORD),
    ];
    let refused = stranger.post("/register", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let login = json!({"email": "mallory@example.com", "password": PASSWORD});
    let no_account = shop
        .users
        .client
        .post_json("/api/users/login", &login)
        .await;
    assert_eq!(no_account.status(), StatusCode::UNAUTHORIZED);
    let refused = stranger
        .post(
            "/login",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        stranger
            .cookie
            .as_deref()
            .is_none_or(|c| crate::session_of(c).auth.is_none())
    );
    // And signing out.
    let refused = ann.post("/logout", &[("csrf", &others_token)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(ann.get("/account").await.status, StatusCode::OK);
}

#[sqlx::test]
async fn a_refused_form_shows_the_service_s_message_and_keeps_what_was_typed(pool: PgPool) {
    let shop = Shop::start(&pool).await;
    shop.account("ann@example.com", "Ann").await;
    let mut browser = shop.browser();

    let form = browser.get("/register").await;
    let taken = browser
        .post(
            "/register",
            &[
                ("email", "ann@example.com"),
                ("name", "Another Ann"),
                ("password", PASSWORD),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.html);
    assert!(
        taken.html.contains(r#"role="alert" data-testid="error""#),
        "{}",
        taken.html
    );
    assert!(taken.html.contains(r#"value="Another Ann""#));
    assert!(
        !taken.html.contains(PASSWORD),
        "a password is never sent back"
    );

    let form = browser.get("/login").await;
    let wrong = browser
        .post(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "not the password"),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains(r#"data-testid="error""#));
    assert!(wrong.html.contains(r#"value="ann@example.com""#));
}
