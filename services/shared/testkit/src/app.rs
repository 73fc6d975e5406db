//! A service's HTTP server running inside the test process on a free port.

use microshop_web::HttpServer;
use tokio_util::sync::CancellationToken;

use crate::Client;

/// A running in-process server; shut down gracefully when dropped.
pub struct TestApp {
    /// Client bound to the server's address.
    pub client: Client,
    shutdown: CancellationToken,
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
        Self { client, shutdown }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
