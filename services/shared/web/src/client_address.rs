//! The client's address: the TCP peer's, or — behind a proxy that says so — the address the
//! proxy saw (the last entry of its header, the one the proxy itself appended).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Which header a trusted proxy in front of the service writes the client's address to
/// (`x-forwarded-for`); `None`: the service is reached directly.
#[derive(Debug, Clone, Default)]
pub struct ClientAddressHeader(pub Option<axum::http::HeaderName>);

/// The client's IP address as this service can tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .extensions
            .get::<ClientAddressHeader>()
            .and_then(|h| h.0.as_ref());
        let forwarded = header
            .and_then(|name| parts.headers.get_all(name).iter().next_back())
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(
            forwarded.or(peer).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}
