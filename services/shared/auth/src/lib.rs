//! Who is calling, for every Microshop service (DESIGN §7): access tokens (JWT, EdDSA/Ed25519)
//! issued by the user service and verified everywhere with the public keys alone; the
//! [`Principal`] and [`Admin`] extractors; the two roles; the keys and their JWKS.

pub mod config;
pub mod error;
pub mod jwks;
pub mod keys;
pub mod principal;
pub mod role;
pub mod service_key;
pub mod token;

pub use config::{CallerConfig, IssueConfig, IssuerKeys, VerifyConfig, secret_or_file};
pub use error::AuthError;
pub use keys::{Jwk, JwkSet, KeyError, PublicKey, SigningKey};
pub use principal::{Admin, Auth, Principal};
pub use role::Role;
pub use service_key::{Internal, ServiceKeys};
pub use token::{AccessToken, Audience, Issuer, Verifier};
