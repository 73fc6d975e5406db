//! TLS for tests: a throw-away CA and a server certificate it signed for the loopback names, and
//! [`TlsProxy`], a TLS front for a plain TCP server (RabbitMQ here has no TLS listener), so that
//! binaries can be tested over `amqps` and `https` as they run in a cluster.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_util::sync::CancellationToken;

/// The names the server certificate is valid for.
const NAMES: [&str; 3] = ["127.0.0.1", "localhost", "kubernetes.default.svc"];

/// A CA and a server configuration presenting a certificate it signed.
pub struct TestCertificates {
    /// The CA's certificate, PEM: what a client must trust.
    pub ca_pem: String,
    /// The server side: certificate chain and key, ALPN `h2` and `http/1.1`.
    pub server: Arc<ServerConfig>,
}

impl TestCertificates {
    /// A new CA and server certificate for `127.0.0.1`, `localhost` and
    /// `kubernetes.default.svc`.
    pub fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("valid parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a key"))
            .expect("a CA");
        let key = KeyPair::generate().expect("a key");
        let server = CertificateParams::new(NAMES.map(str::to_owned).to_vec())
            .expect("valid names")
            .signed_by(&key, &ca)
            .expect("the CA signs");
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // ring named explicitly, so that the test endpoint works whatever providers the build
        // has: a test of a binary must fail because of the binary, not of its harness.
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![server.der().clone(), ca.der().clone()], private)
            .expect("a valid certificate and key");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self {
            ca_pem: ca.pem(),
            server: Arc::new(config),
        }
    }

    /// Writes the CA to `dir/ca.crt` and returns the path (for `SSL_CERT_FILE`, a kubeconfig).
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.crt");
        std::fs::write(&path, &self.ca_pem).expect("writes the CA");
        path
    }
}

impl Default for TestCertificates {
    fn default() -> Self {
        Self::new()
    }
}

/// A folder of a test's own, removed when dropped.
pub struct TestDir(PathBuf);

impl TestDir {
    /// A new, empty folder under the system's temporary folder.
    pub fn new(purpose: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("microshop-{purpose}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("creates the test's folder");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TLS server on a free loopback port that forwards each connection, decrypted, to a plain
/// TCP server; stops when dropped.
pub struct TlsProxy {
    addr: SocketAddr,
    ca_file: PathBuf,
    _dir: TestDir,
    stop: CancellationToken,
}

impl TlsProxy {
    /// A TLS front for `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let certificates = TestCertificates::new();
        let dir = TestDir::new("tls-proxy");
        let ca_file = certificates.write_ca(dir.path());
        let acceptor = TlsAcceptor::from(certificates.server);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stopped.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((client, _)) = accepted else { continue };
                let (acceptor, stopped) = (acceptor.clone(), stopped.clone());
                tokio::spawn(async move {
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        () = stopped.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        Self {
            addr,
            ca_file,
            _dir: dir,
            stop,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA file a client must trust (`SSL_CERT_FILE`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
