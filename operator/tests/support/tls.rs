//! The fake API server over HTTPS, as the real operator binary reaches an API server: the
//! testkit's throw-away CA and server certificate, and a kubeconfig (or in-cluster files)
//! trusting that CA only.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support code"
)]

use std::path::{Path, PathBuf};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use microshop_testkit::tls::TestCertificates;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::fake_api::FakeApiServer;

/// The bearer token the kubeconfig and the in-cluster files carry.
pub const TOKEN: &str = "fake-service-account-token";

/// A running HTTPS endpoint of a fake API server, and the files a client needs to reach it.
pub struct TlsEndpoint {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The port.
    pub port: u16,
    /// The CA that signed the server's certificate, PEM.
    pub ca_pem: String,
    /// A folder of the test's own holding the files below; removed on drop.
    dir: PathBuf,
}

impl TlsEndpoint {
    /// A kubeconfig pointing at the endpoint, trusting only its CA, with [`TOKEN`].
    pub fn kubeconfig(&self) -> PathBuf {
        self.kubeconfig_with_token(TOKEN)
    }

    /// A kubeconfig like [`TlsEndpoint::kubeconfig`] whose user presents `token` (so the
    /// requests of two processes can be told apart).
    pub fn kubeconfig_with_token(&self, token: &str) -> PathBuf {
        let ca = self.dir.join("ca.crt");
        std::fs::write(&ca, &self.ca_pem).expect("writes the CA");
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n    \
             certificate-authority: {ca}\nusers:\n- name: operator\n  user:\n    token: {token}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: operator\n\
             current-context: fake\n",
            url = self.url,
            ca = ca.display(),
        );
        let path = self.dir.join(format!("kubeconfig-{token}"));
        std::fs::write(&path, config).expect("writes the kubeconfig");
        path
    }

    /// The folder a pod finds its service account in (`token`, `ca.crt`, `namespace`).
    pub fn service_account(&self, namespace: &str) -> PathBuf {
        let dir = self.dir.join("serviceaccount");
        std::fs::create_dir_all(&dir).expect("creates the folder");
        std::fs::write(dir.join("token"), TOKEN).expect("writes the token");
        std::fs::write(dir.join("ca.crt"), &self.ca_pem).expect("writes the CA");
        std::fs::write(dir.join("namespace"), namespace).expect("writes the namespace");
        dir
    }

    /// The test's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl FakeApiServer {
    /// Serves this fake over HTTPS on a free loopback port until the test's runtime ends.
    pub async fn serve_tls(&self) -> TlsEndpoint {
        let certificates = TestCertificates::new();
        let acceptor = TlsAcceptor::from(certificates.server);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = listener.local_addr().expect("has an address").port();
        let fake = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, fake) = (acceptor.clone(), fake.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let fake = fake.clone();
                        async move { Ok::<_, std::convert::Infallible>(fake.serve(request).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        let dir = std::env::temp_dir().join(format!("microshop-fake-api-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("creates the test's folder");
        TlsEndpoint {
            url: format!("https://127.0.0.1:{port}"),
            port,
            ca_pem: certificates.ca_pem,
            dir,
        }
    }
}
