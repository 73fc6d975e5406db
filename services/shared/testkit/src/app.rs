//! A service's HTTP server running inside the test process on a free port.

use microshop_web::HttpServer;
use tokio_util::sync::CancellationToken;

use crate::Client;

/// The command line of a service under test listening on loopback at `port` (0 for any free
/// one), to which a test appends its own arguments before parsing the service's `Config`. No
/// load balancer sends it requests, so it closes its listener at once when stopped.
pub fn local_args(program: &str, port: u16) -> Vec<String> {
    vec![
        program.to_owned(),
        "--http-host".to_owned(),
        "127.0.0.1".to_owned(),
        "--http-port".to_owned(),
        port.to_string(),
        "--shutdown-drain-delay-ms".to_owned(),
        "0".to_owned(),
    ]
}

/// A running in-process server; shut down gracefully when dropped.
pub struct TestApp {
    /// Client bound to the server's address.
    pub client: Client,
    shutdown: CancellationToken,
    /// Dropped after the server is told to stop (a topology to delete once nothing uses it).
    held: Vec<Box<dyn Send>>,
}

impl TestApp {
    /// Runs `server` in the background.
    pub fn start(server: HttpServer) -> Self {
        let client = Client::new(format!("http://{}", server.local_addr()));
        let shutdown = server.shutdown_token();
        tokio::spawn(async move {
            if let Err(error) = server.run().await {
                panic!("test server failed: {error}");
            }
        });
        Self {
            client,
            shutdown,
            held: Vec::new(),
        }
    }

    /// Keeps `guard` until the server has been told to stop: a [`crate::TestBroker`] deletes
    /// its topology only then, so the service's consumer cannot declare it again.
    #[must_use]
    pub fn holding(mut self, guard: impl Send + 'static) -> Self {
        self.held.push(Box::new(guard));
        self
    }
}

impl TestApp {
    /// Starts the server `build` makes; while the port is still held by an instance that was
    /// just stopped (a restart on the same port), tries again for up to five seconds.
    pub async fn start_when_bound<F, Fut, E>(mut build: F) -> Self
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<HttpServer, E>>,
        E: std::fmt::Debug,
    {
        let mut last_error = None;
        for _ in 0..100 {
            match build().await {
                Ok(server) => return Self::start(server),
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the service could not start: {last_error:?}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.client
            .base_url()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the base URL ends with the port")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // What it holds goes after the cancellation (a topology is deleted last).
        self.held.clear();
    }
}
