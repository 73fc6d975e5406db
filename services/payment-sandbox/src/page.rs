//! The hosted card page a buyer's browser sees: the form asking for a card number, and the
//! result. Small and self-contained (no scripts, images or external styles); every value from
//! a session is escaped; the answer forbids everything but its own inline style and posting
//! the form back to itself.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::{Session, Status, display_amount};

/// The page's Content-Security-Policy.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}\
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.5rem;\
box-shadow:0 1px 4px #0002}.brand{color:#666;font-size:.85rem;text-transform:uppercase;\
letter-spacing:.05em}h1{margin:.2rem 0 1rem}label{display:block;margin:1rem 0 .3rem}\
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1.1rem;letter-spacing:.08em}\
button{margin-top:1rem;width:100%;padding:.7rem;font-size:1rem;background:#1a56db;color:#fff;\
border:0;border-radius:.3rem}.error{color:#b91c1c}.muted{color:#666;font-size:.9rem}\
.succeeded{color:#047857}.failed{color:#b91c1c}";

/// The form for an open session; `error` says what was wrong with the last number typed.
pub fn form(session: &Session, error: Option<&str>) -> String {
    let amount = amount(session);
    let mut body = heading(session, &amount);
    if let Some(error) = error {
        let _ = write!(
            body,
            r#"<p class="error" role="alert">{}</p>"#,
            escape(error)
        );
    }
    let _ = write!(
        body,
        r#"<form method="post"><label for="card_number">Card number</label><input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" maxlength="40" required autofocus><button type="submit">Pay {amount}</button></form>
<p class="muted">Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined; 4000 0000 0000 9995 has insufficient funds; 4000 0000 0000 5126 succeeds but refunds fail. Any other valid number succeeds.</p>"#,
        amount = escape(&amount),
    );
    document(&format!("Pay {amount}"), &body)
}

/// The result of a closed session; `note` explains why it is shown (a second card, say).
pub fn result(session: &Session, note: Option<&str>) -> String {
    let amount = amount(session);
    let (title, class, detail) = match session.status {
        Status::Succeeded => ("Payment succeeded", "succeeded", None),
        Status::Failed => (
            "Payment declined",
            "failed",
            session.failure.map(crate::domain::Decline::message),
        ),
        Status::Open => ("Payment not made yet", "muted", None),
    };
    let mut body = heading(session, &amount);
    let _ = write!(body, r#"<h2 class="{class}">{title}</h2>"#);
    if let Some(detail) = detail {
        let _ = write!(body, "<p>{}</p>", escape(detail));
    }
    if let Some(note) = note {
        let _ = write!(body, r#"<p class="muted">{}</p>"#, escape(note));
    }
    if let Some(url) = &session.details.return_url {
        let _ = write!(
            body,
            r#"<p><a href="{}">Back to the shop</a></p>"#,
            escape(url)
        );
    }
    document(title, &body)
}

/// A page as an answer: 200 (the shared middleware turns every 4xx into a JSON body, and a
/// browser should show the page either way), HTML, never cached, with its security headers.
pub fn respond(html: String) -> Response {
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // The checkout URL is the session's capability: not sent to the shop in a Referer.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn amount(session: &Session) -> String {
    display_amount(session.details.amount_cents, &session.details.currency)
}

fn heading(session: &Session, amount: &str) -> String {
    let mut html = format!(
        r#"<p class="brand">Microshop payment sandbox</p><h1>{}</h1>"#,
        escape(amount)
    );
    if let Some(description) = &session.details.description {
        let _ = write!(html, "<p>{}</p>", escape(description));
    }
    let _ = write!(
        html,
        r#"<p class="muted">Reference {}</p>"#,
        escape(&session.details.reference)
    );
    html
}

fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · Payment sandbox</title><style>{STYLE}</style></head>
<body><main>{body}</main></body></html>
"#,
        escape(title)
    )
}

/// `text` safe inside HTML text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CardOutcome, Decline, NewSession};

    fn session(description: &str, return_url: Option<&str>) -> Session {
        let details =
            NewSession::parse(1299, "USD", "<42>", Some(description), return_url).unwrap();
        Session::open(details)
    }

    #[test]
    fn the_form_shows_the_amount_and_escapes_every_value() {
        let html = form(
            &session("<script>alert('x')</script>", None),
            Some("a <b> error"),
        );
        assert!(html.contains("USD 12.99"));
        assert!(html.contains(r#"<form method="post">"#));
        assert!(html.contains(r#"name="card_number""#));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("Reference &lt;42&gt;"));
        assert!(html.contains("a &lt;b&gt; error"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn the_result_links_back_when_the_session_has_a_return_url() {
        let mut paid = session("Order 17", Some("https://shop.test/orders/17?a=1&b=\"2\""));
        paid.pay(CardOutcome::Approved {
            refunds_fail: false,
        })
        .unwrap();
        let html = result(&paid, None);
        assert!(html.contains("Payment succeeded"));
        assert!(html.contains(r#"href="https://shop.test/orders/17?a=1&amp;b=&quot;2&quot;""#));

        let mut declined = session("Order 17", None);
        declined
            .pay(CardOutcome::Declined(Decline::CardDeclined))
            .unwrap();
        let html = result(&declined, None);
        assert!(html.contains("Payment declined"));
        assert!(html.contains("Your card was declined."));
        assert!(!html.contains("href="));
    }
}
