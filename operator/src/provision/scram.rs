//! SCRAM-SHA-256 password verifiers, computed here so that `CREATE/ALTER ROLE ... PASSWORD`
//! never carries the plaintext: PostgreSQL stores a verifier it is given as is, and a server
//! that logs DDL statements logs only the verifier.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// PostgreSQL's default `scram_iterations`.
const ITERATIONS: u32 = 4096;

/// The verifier PostgreSQL would store for `password` (`password_encryption = scram-sha-256`),
/// with a fresh random salt: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
///
/// The operator's passwords are ASCII letters and digits, which `SASLprep` leaves unchanged.
pub fn verifier(password: &str) -> String {
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    verifier_with_salt(password, &salt, ITERATIONS)
}

fn verifier_with_salt(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0_u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// Whether `verifier` (as PostgreSQL stores it in `pg_authid.rolpassword`) accepts `password`.
pub fn verifies(verifier: &str, password: &str) -> bool {
    let parsed = (|| {
        let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
        let (iterations, rest) = rest.split_once(':')?;
        let (salt, keys) = rest.split_once('$')?;
        let (stored, _server) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok()?;
        let salt = STANDARD.decode(salt).ok()?;
        Some((iterations, salt, stored.to_owned()))
    })();
    let Some((iterations, salt, stored)) = parsed else {
        return false;
    };
    let expected = verifier_with_salt(password, &salt, iterations);
    expected
        .rsplit_once('$')
        .and_then(|(_, keys)| keys.split_once(':'))
        .is_some_and(|(computed, _)| computed == stored)
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_has_postgres_format_and_a_fresh_salt() {
        let (a, b) = (verifier("secret"), verifier("secret"));
        assert!(a.starts_with("SCRAM-SHA-256$4096:"), "{a}");
        assert_ne!(a, b, "each verifier gets its own salt");
        assert!(!a.contains("secret"));
    }

    #[test]
    fn a_verifier_accepts_its_password_only() {
        let verifier = verifier("secret");
        assert!(verifies(&verifier, "secret"));
        assert!(!verifies(&verifier, "Secret"));
        assert!(!verifies("md5abcdef", "secret"));
        assert!(!verifies("", "secret"));
    }

    #[test]
    fn the_verifier_matches_rfc_7677s_test_vector() {
        // RFC 7677, section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==,
        // 4096 iterations; the server signature there follows from this ServerKey.
        let salt = STANDARD
            .decode("W22ZaJ0SNY7soEsUEjb6gQ==")
            .expect("valid base64");
        let verifier = verifier_with_salt("pencil", &salt, 4096);
        let mut salted = [0_u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"pencil", &salt, 4096, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(client_key);
        // ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage) from the RFC's exchange.
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature)
            .map(|(key, sig)| key ^ sig)
            .collect();
        assert_eq!(
            STANDARD.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(verifier.contains(&STANDARD.encode(stored_key)));
    }
}
