//! The sandbox for one test, on a free port, delivering its webhooks to a receiver the test
//! runs on another free port: it records every delivery and can be told to fail some.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use clap::Parser;
use microshop_testkit::{Client, TestApp, eventually_some, json, local_args};
use reqwest::Response;
use secrecy::SecretString;
use serde_json::{Value, json};

/// The provider API key of every test sandbox.
pub const API_KEY: &str = "sandbox-test-api-key-0123456789abcdef";
/// The webhook secret of every test sandbox.
pub const SECRET: &str = "whsec_sandbox_test";
/// `PUBLIC_URL` of every test sandbox.
pub const PUBLIC_URL: &str = "http://sandbox.test:8090";

/// Test cards.
pub const SUCCEEDS: &str = "4242 4242 4242 4242";
pub const DECLINED: &str = "4000 0000 0000 0002";
pub const INSUFFICIENT_FUNDS: &str = "4000 0000 0000 9995";
pub const REFUNDS_FAIL: &str = "4000 0000 0000 5126";

/// One delivery the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub json: Value,
    /// What the receiver answered.
    pub status: u16,
}

impl Delivery {
    /// Asserts the signature verifies under the shared secret, now.
    pub fn assert_signed(&self) {
        let header = self.signature.as_deref().expect("a signature header");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        microshop_webhook::verify(
            &[SecretString::from(SECRET)],
            header,
            &self.body,
            now,
            microshop_webhook::TOLERANCE,
        )
        .unwrap_or_else(|e| panic!("the delivery of {} is not signed: {e}", self.json));
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
    }

    pub fn event_id(&self) -> &str {
        self.json["id"].as_str().unwrap()
    }

    pub fn session_id(&self) -> &str {
        self.json["data"]["session_id"].as_str().unwrap()
    }
}

#[derive(Default)]
struct Inbox {
    deliveries: Mutex<Vec<Delivery>>,
    /// Deliveries answered 500 before the receiver starts answering 200.
    fail_first: AtomicUsize,
    seen: AtomicUsize,
    /// Deliveries about a session with this reference are always answered 500.
    always_fail_reference: Mutex<Option<String>>,
}

/// The payment service's stand-in: records deliveries, answers 500 to the first K.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = inbox.seen.fetch_add(1, Ordering::SeqCst);
    let failing_reference = inbox.always_fail_reference.lock().unwrap().clone();
    let refused = n < inbox.fail_first.load(Ordering::SeqCst)
        || failing_reference.is_some_and(|r| json["data"]["reference"] == r.as_str());
    let status = if refused {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    inbox.deliveries.lock().unwrap().push(Delivery {
        signature: header(microshop_webhook::HEADER),
        content_type: header("content-type"),
        body: body.to_vec(),
        json,
        status: status.as_u16(),
    });
    status
}

impl Receiver {
    /// Listens on a free port; answers 500 to the first `fail_first` deliveries.
    pub async fn start(fail_first: usize) -> Self {
        let inbox = Arc::new(Inbox::default());
        inbox.fail_first.store(fail_first, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/api/payments/callback",
            listener.local_addr().unwrap()
        );
        let router = axum::Router::new()
            .route("/api/payments/callback", post(receive))
            .with_state(Arc::clone(&inbox));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, inbox }
    }

    /// Answers 500 to every delivery about the session of `reference`.
    pub fn always_fail(&self, reference: &str) {
        *self.inbox.always_fail_reference.lock().unwrap() = Some(reference.to_owned());
    }

    /// Every delivery so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inbox.deliveries.lock().unwrap().clone()
    }

    /// The deliveries about `session_id`.
    pub fn about(&self, session_id: &str) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.session_id() == session_id)
            .collect()
    }

    /// Waits until `count` deliveries about `session_id` have arrived; returns them.
    pub async fn wait_for(&self, session_id: &str, count: usize) -> Vec<Delivery> {
        let what = format!("{count} deliveries about {session_id} arrive");
        eventually_some(&what, async || {
            let got = self.about(session_id);
            (got.len() >= count).then_some(got)
        })
        .await
    }
}

/// A sandbox and its receiver.
pub struct Sandbox {
    pub app: TestApp,
    pub receiver: Receiver,
    /// A client presenting the API key.
    pub api: Client,
}

impl Sandbox {
    /// A sandbox whose receiver accepts everything, retrying fast.
    pub async fn start() -> Self {
        Self::start_with(0, &[]).await
    }

    /// A sandbox whose receiver fails the first `fail_first` deliveries, with extra arguments.
    pub async fn start_with(fail_first: usize, extra: &[&str]) -> Self {
        let receiver = Receiver::start(fail_first).await;
        let mut args = local_args("payment-sandbox", 0);
        let defaults = [
            ("--api-key", API_KEY),
            ("--webhook-secret", SECRET),
            ("--public-url", PUBLIC_URL),
            ("--webhook-url", receiver.url.as_str()),
            ("--webhook-retry-base-ms", "10"),
            ("--webhook-retry-max-ms", "40"),
            ("--webhook-timeout-ms", "2000"),
        ];
        // A flag given twice is an error: `extra` replaces the default.
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                args.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let config = payment_sandbox::Config::try_parse_from(args).unwrap();
        let server = payment_sandbox::startup::build(config).await.unwrap();
        let app = TestApp::start(server);
        let api = app.client.authorized(API_KEY);
        Self { app, receiver, api }
    }

    /// The anonymous client (a browser).
    pub fn browser(&self) -> &Client {
        &self.app.client
    }

    /// `POST /v1/checkout/sessions` with `body`.
    pub async fn create(&self, body: &Value) -> Response {
        self.api.post_json("/v1/checkout/sessions", body).await
    }

    /// A new session of USD 12.99 for `reference`; its JSON.
    pub async fn session(&self, reference: &str) -> Value {
        let response = self
            .create(
                &json!({"amount_cents": 1299, "currency": "USD", "reference": reference,
                            "description": "Order 17"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json(response).await
    }

    /// `POST /checkout/{id}` with the card as JSON.
    pub async fn pay(&self, session_id: &str, card: &str) -> Response {
        self.browser()
            .post_json(
                &format!("/checkout/{session_id}"),
                &json!({"card_number": card}),
            )
            .await
    }

    /// A session of USD 12.99 paid with `card`; its id.
    pub async fn paid_session(&self, reference: &str, card: &str) -> String {
        let id = self.session(reference).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(self.pay(&id, card).await.status(), StatusCode::OK);
        id
    }

    /// `GET /v1/checkout/sessions/{id}`.
    pub async fn get_session(&self, id: &str) -> Value {
        let response = self.api.get(&format!("/v1/checkout/sessions/{id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }

    /// `PUT /v1/test/settings`.
    pub async fn settings(&self, body: &Value) -> Value {
        let response = self
            .api
            .send_as(reqwest::Method::PUT, "/v1/test/settings", None, Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }

    /// `GET /v1/test/deliveries`: the record of `event_id`.
    pub async fn delivery_record(&self, event_id: &str) -> Value {
        let all = json(self.api.get("/v1/test/deliveries").await).await;
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["event_id"] == event_id)
            .cloned()
            .unwrap_or_else(|| panic!("no record of {event_id} in {all}"))
    }

    /// The sum of the series of metric `name` whose labels contain `label`.
    pub async fn metric(&self, name: &str, label: &str) -> u64 {
        let text = self.browser().get("/metrics").await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}
