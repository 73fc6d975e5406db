//! The notification parts of the spec: the SMTP server the notification service sends mail
//! through, and the shop's public address its mails link to.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::SecretRef;

/// The mail server of the notification service. The operator reads the Secret (to report a
/// missing one, and for the credentials checksum: a changed Secret rolls the notification pods)
/// and never writes it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SmtpSpec {
    /// A Secret with the key `SMTP_URL` (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`
    /// for STARTTLS, `smtps://user:pass@host:465` for implicit TLS) and optionally `MAIL_FROM`
    /// (`Shop <shop@example.com>`; unset: the notification service's default sender).
    pub secret_ref: SecretRef,
}
