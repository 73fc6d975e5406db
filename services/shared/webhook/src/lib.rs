//! Signed webhooks, as card providers send them: the provider (here the payment sandbox) signs
//! every delivery, the receiver (the payment service) refuses what it cannot verify.
//!
//! The header [`HEADER`] reads `t=<unix seconds>,v1=<hex>`: the time of signing and the
//! HMAC-SHA256, under the shared secret, of `<t>.<body>` (the decimal time, a dot, the raw body
//! bytes). A receiver accepts a delivery when one `v1` matches under one of its secrets
//! (several during a rotation; several `v1` from a provider signing with old and new) and `t`
//! is within the tolerance of its own clock ([`TOLERANCE`], 5 minutes, either way). Signatures
//! are compared in constant time. A replay within the tolerance passes this check: receivers
//! apply each provider event once by its id (their inbox), which makes a replay harmless.
//!
//! ```
//! use microshop_webhook::{sign, verify, TOLERANCE};
//! use secrecy::SecretString;
//!
//! let secret = SecretString::from("whsec_local");
//! let body = br#"{"id":"evt_1","type":"payment.succeeded"}"#;
//! let header = sign(&secret, 1_700_000_000, body);
//! assert_eq!(verify(&[secret], &header, body, 1_700_000_060, TOLERANCE), Ok(1_700_000_000));
//! ```

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header that carries the signature (`Microshop-Signature`).
pub const HEADER: &str = "microshop-signature";

/// How far the time of signing may be from the receiver's clock, either way.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a delivery is refused. Each says what was wrong without echoing the header or the
/// expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is missing parts or is not `t=<unix seconds>,v1=<hex>`.
    #[error("the signature header is not `t=<unix seconds>,v1=<64 hex digits>`")]
    Malformed,
    /// The time of signing is too far from now: an old delivery replayed, or a clock far off.
    #[error("the signature was made {seconds} s from now, beyond the tolerance of {tolerance} s")]
    OutsideTolerance {
        /// How far from now, in seconds.
        seconds: u64,
        /// The tolerance, in seconds.
        tolerance: u64,
    },
    /// No signature matches under any secret: a forged or altered delivery, or a wrong secret.
    #[error("no signature matches the body under the webhook secret")]
    Mismatch,
}

/// The header value for `body` signed with `secret` at `timestamp` (unix seconds).
pub fn sign(secret: &SecretString, timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks `header` for `body` against `secrets` at `now` (unix seconds) and returns the time of
/// signing.
pub fn verify(
    secrets: &[SecretString],
    header: &str,
    body: &[u8],
    now: u64,
    tolerance: Duration,
) -> Result<u64, SignatureError> {
    let parsed = Parsed::from_header(header)?;
    let seconds = parsed.timestamp.abs_diff(now);
    if seconds > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance {
            seconds,
            tolerance: tolerance.as_secs(),
        });
    }
    let matches = secrets.iter().any(|secret| {
        parsed.signatures.iter().any(|signature| {
            mac(secret, parsed.timestamp, body)
                .verify_slice(signature)
                .is_ok()
        })
    });
    if matches {
        Ok(parsed.timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn mac(secret: &SecretString, timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// A header taken apart: one `t`, one or more `v1` (other schemes are ignored, so a provider can
/// add one before receivers know it).
struct Parsed {
    timestamp: u64,
    signatures: Vec<[u8; 32]>,
}

impl Parsed {
    fn from_header(header: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed)?;
            match key {
                "t" => {
                    let t = value.parse().map_err(|_| SignatureError::Malformed)?;
                    if timestamp.replace(t).is_some() {
                        return Err(SignatureError::Malformed);
                    }
                }
                "v1" => {
                    let mut signature = [0; 32];
                    hex::decode_to_slice(value, &mut signature)
                        .map_err(|_| SignatureError::Malformed)?;
                    signatures.push(signature);
                }
                _ => {}
            }
        }
        match timestamp {
            Some(timestamp) if !signatures.is_empty() => Ok(Self {
                timestamp,
                signatures,
            }),
            _ => Err(SignatureError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body_in_hex() {
        // Computed independently (Python's hmac module), so the format cannot drift: a real
        // provider's signature of the same bytes verifies here.
        assert_eq!(
            sign(&secret("whsec_test"), NOW, BODY),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn a_signed_body_verifies_within_the_tolerance_either_way() {
        let header = sign(&secret("s"), NOW, BODY);
        for now in [NOW, NOW + 300, NOW - 300] {
            assert_eq!(
                verify(&[secret("s")], &header, BODY, now, TOLERANCE),
                Ok(NOW)
            );
        }
    }

    #[test]
    fn an_old_or_future_signature_is_refused() {
        let header = sign(&secret("s"), NOW, BODY);
        assert_eq!(
            verify(&[secret("s")], &header, BODY, NOW + 301, TOLERANCE),
            Err(SignatureError::OutsideTolerance {
                seconds: 301,
                tolerance: 300
            })
        );
        assert!(matches!(
            verify(&[secret("s")], &header, BODY, NOW - 3_600, TOLERANCE),
            Err(SignatureError::OutsideTolerance { seconds: 3_600, .. })
        ));
    }

    #[test]
    fn an_altered_body_a_moved_time_or_another_secret_does_not_match() {
        let header = sign(&secret("s"), NOW, BODY);
        let refused = Err(SignatureError::Mismatch);
        assert_eq!(
            verify(
                &[secret("s")],
                &header,
                br#"{"id":"evt_2"}"#,
                NOW,
                TOLERANCE
            ),
            refused
        );
        assert_eq!(
            verify(&[secret("other")], &header, BODY, NOW, TOLERANCE),
            refused
        );
        // The signature of one time presented with another (to make a replay look fresh).
        let moved = header.replace("t=1700000000", "t=1700000100");
        assert_eq!(
            verify(&[secret("s")], &moved, BODY, NOW + 100, TOLERANCE),
            refused
        );
    }

    #[test]
    fn any_secret_and_any_signature_may_match_during_a_rotation() {
        let old = sign(&secret("old"), NOW, BODY);
        let new = sign(&secret("new"), NOW, BODY);
        let both = format!("{},{}", new, old.split_once(',').unwrap().1);
        let secrets = [secret("new"), secret("old")];
        for header in [&old, &new, &both] {
            assert_eq!(verify(&secrets, header, BODY, NOW, TOLERANCE), Ok(NOW));
        }
        assert_eq!(
            verify(&[secret("old")], &both, BODY, NOW, TOLERANCE),
            Ok(NOW)
        );
    }

    #[test]
    fn malformed_headers_are_refused_as_such() {
        let good = sign(&secret("s"), NOW, BODY);
        let v1 = good.split_once(',').unwrap().1;
        for header in [
            "",
            "t=1700000000",
            v1,
            "t=soon,v1=00",
            &format!("t=-1,{v1}"),
            &format!("t=1700000000,t=1700000000,{v1}"),
            "t=1700000000,v1=zz",
            "t=1700000000,v1=abcd",
            "garbage",
        ] {
            assert_eq!(
                verify(&[secret("s")], header, BODY, NOW, TOLERANCE),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn unknown_schemes_are_ignored() {
        let header = format!("{},v0=deadbeef", sign(&secret("s"), NOW, BODY));
        assert_eq!(
            verify(&[secret("s")], &header, BODY, NOW, TOLERANCE),
            Ok(NOW)
        );
    }

    #[test]
    fn an_error_never_shows_the_expected_signature() {
        let header = sign(&secret("s"), NOW, BODY);
        let expected = header.split_once("v1=").unwrap().1.to_owned();
        let error = verify(&[secret("s")], &header, b"x", NOW, TOLERANCE).unwrap_err();
        assert!(!error.to_string().contains(&expected));
    }
}
