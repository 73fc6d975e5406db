//! A TCP proxy between a service under test and one of its dependencies. `cut` drops every open
//! connection and closes the listening socket, so new connections are refused: what a crashed
//! database looks like to its clients. `restore` listens on the same port again.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A running proxy; stops when dropped.
pub struct TcpProxy {
    addr: SocketAddr,
    /// What the test wants: `true` = forwarding.
    wanted: watch::Sender<bool>,
    /// What the accept loop has done.
    actual: watch::Receiver<bool>,
    stop: CancellationToken,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (wanted, wanted_rx) = watch::channel(true);
        let (actual_tx, actual) = watch::channel(true);
        let stop = CancellationToken::new();
        tokio::spawn(run(listener, upstream, wanted_rx, actual_tx, stop.clone()));
        Ok(Self {
            addr,
            wanted,
            actual,
            stop,
        })
    }

    /// Where clients should connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops all open connections and refuses new ones until [`restore`](Self::restore).
    pub async fn cut(&self) {
        self.set(false).await;
    }

    /// Accepts and forwards connections again.
    pub async fn restore(&self) {
        self.set(true).await;
    }

    async fn set(&self, open: bool) {
        self.wanted.send_replace(open);
        let mut actual = self.actual.clone();
        actual
            .wait_for(|state| *state == open)
            .await
            .expect("the proxy task runs until the proxy is dropped");
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn run(
    listener: TcpListener,
    upstream: SocketAddr,
    mut wanted: watch::Receiver<bool>,
    actual: watch::Sender<bool>,
    stop: CancellationToken,
) {
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let mut listener = Some(listener);
    loop {
        let Some(open) = listener.take() else {
            // Closed: wait for `restore`, then listen on the same port again.
            if wanted.wait_for(|open| *open).await.is_err() {
                return;
            }
            match TcpListener::bind(addr).await {
                Ok(reopened) => {
                    listener = Some(reopened);
                    actual.send_replace(true);
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
            continue;
        };
        // Open: forward until `cut` or stop; every link dies with `links`.
        let links = stop.child_token();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                changed = wanted.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if !*wanted.borrow_and_update() {
                        break;
                    }
                }
                accepted = open.accept() => {
                    if let Ok((client, _)) = accepted {
                        tokio::spawn(forward(client, upstream, links.clone()));
                    }
                }
            }
        }
        links.cancel();
        drop(open);
        actual.send_replace(false);
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
