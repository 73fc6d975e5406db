//! A TCP proxy between a service under test and one of its dependencies. `cut` drops every open
//! connection and refuses new ones (what a crashed database or a network partition looks like to
//! the client); `restore` lets connections through again.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A running proxy; stops when dropped.
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

struct Shared {
    upstream: SocketAddr,
    open: AtomicBool,
    /// Cancelled by `cut` to close every link opened before it.
    links: Mutex<CancellationToken>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            open: AtomicBool::new(true),
            links: Mutex::new(CancellationToken::new()),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(listener, Arc::clone(&shared), stop.clone()));
        Ok(Self { addr, shared, stop })
    }

    /// Where clients should connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops all open connections and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.shared.open.store(false, Ordering::SeqCst);
        let mut links = self.shared.links.lock().expect("proxy lock is never poisoned");
        links.cancel();
        *links = CancellationToken::new();
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.shared.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else { continue };
        if !shared.open.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let link_token = shared
            .links
            .lock()
            .expect("proxy lock is never poisoned")
            .clone();
        tokio::spawn(forward(client, shared.upstream, link_token));
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, cut: CancellationToken) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        () = cut.cancelled() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
    }
}
