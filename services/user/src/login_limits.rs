//! Log-in throttling (DESIGN §7): failed log-ins are counted per account and per client address
//! in Redis; an account or address with as many failures as allowed is refused — a correct
//! password included — until its window ends. A successful log-in clears its account's count
//! (not its address's: one address guessing many accounts stays counted).

use std::net::IpAddr;
use std::time::Duration;

use microshop_limits::{Throttle, Throttled};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::domain::Email;

/// The limits and their counter.
#[derive(Clone)]
pub struct LoginLimits {
    /// Failures per key and window, in Redis.
    pub throttle: Throttle,
    /// Failed log-ins one account may have per window.
    pub per_account: u32,
    /// Failed log-ins one client address may have per window.
    pub per_address: u32,
}

impl LoginLimits {
    /// 429 while `email` or `address` is at its limit.
    pub async fn check(&self, email: &Email, address: IpAddr) -> Result<(), Error> {
        let keys = [
            (account_key(email), self.per_account),
            (address_key(address), self.per_address),
        ];
        self.throttle.check(&keys).await.map_err(|throttled| {
            let Throttled { key, retry_after } = throttled;
            tracing::info!(%key, retry_after_s = retry_after.as_secs(), "log-in refused: too many failed attempts");
            Error::TooManyAttempts(round_up(retry_after))
        })
    }

    /// Counts a failed log-in against both.
    pub async fn failed(&self, email: &Email, address: IpAddr) {
        self.throttle
            .failed(&[account_key(email), address_key(address)])
            .await;
    }

    /// Clears the account's failures after a successful log-in.
    pub async fn succeeded(&self, email: &Email) {
        self.throttle.clear(&account_key(email)).await;
    }
}

/// The account's key: a digest, so Redis never holds e-mail addresses.
fn account_key(email: &Email) -> String {
    let digest = Sha256::digest(email.as_str().to_lowercase().as_bytes());
    let hex = digest[..16]
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
            hex
        });
    format!("login:account:{hex}")
}

fn address_key(address: IpAddr) -> String {
    format!("login:address:{address}")
}

fn round_up(wait: Duration) -> u32 {
    u32::try_from(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        .unwrap_or(u32::MAX)
        .max(1)
}
