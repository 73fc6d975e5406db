//! The SMTP server the notification service sends mail through (`spec.smtp`, optional). Its
//! pods read `SMTP_URL` and the optional `MAIL_FROM` straight from the user's Secret; the
//! operator reads them too, for the notification service's credentials checksum (a changed
//! Secret rolls its pods) and to report a missing Secret or `SMTP_URL`. It never writes them.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::apply::value_of;
use crate::error::Error;
use crate::resources::{MAIL_FROM_KEY, SMTP_URL_KEY, Shop};

/// What the SMTP Secret must hold under `SMTP_URL`.
pub const SMTP_URL: &str = "SMTP server URL (smtp://host:25, smtp://user:password@host:587?tls=required or smtps://user:password@host:465)";

/// The mail server's settings as the notification pods read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    /// `SMTP_URL`.
    pub url: String,
    /// `MAIL_FROM`, when the Secret has one.
    pub from: Option<String>,
}

/// The settings in the Secret `spec.smtp.secretRef` names (one read for both keys); `None`
/// without `spec.smtp`. A missing Secret, or one without a non-empty `SMTP_URL`, is
/// `SecretMissing`.
pub async fn settings(shop: &Shop<'_>, client: &Client) -> Result<Option<Smtp>, Error> {
    let Some(smtp) = &shop.resource.spec.smtp else {
        return Ok(None);
    };
    let name = &smtp.secret_ref.name;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let secret = secrets.get_opt(name).await?;
    let url = secret
        .as_ref()
        .and_then(|s| value_of(s, SMTP_URL_KEY))
        // An empty URL would only stop the notification service at start-up.
        .filter(|url| !url.trim().is_empty())
        .ok_or_else(|| Error::MissingSecret {
            namespace: shop.namespace.clone(),
            name: name.clone(),
            key: SMTP_URL_KEY.to_owned(),
            what: SMTP_URL,
        })?;
    let from = secret.as_ref().and_then(|s| value_of(s, MAIL_FROM_KEY));
    Ok(Some(Smtp { url, from }))
}
