//! Where notifications leave: e-mail to the SMTP server (`lettre`) or to the log, text messages
//! to an SMS provider's webhook (signed like the payment webhooks) or to the log. A failure says
//! whether another attempt could succeed.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Config, MailTransport, SmsProvider};
use crate::domain::Rendered;

/// Why a delivery did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Another attempt may succeed (the server is down, busy, or said "try later").
    #[error("{0}")]
    Transient(String),
    /// Another attempt would fail the same way (a malformed address, a refusal).
    #[error("{0}")]
    Permanent(String),
}

enum Mail {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Log,
}

enum Sms {
    Log,
    Webhook {
        client: reqwest::Client,
        url: String,
        secret: SecretString,
    },
}

/// The service's transports.
pub struct Transports {
    mail: Mail,
    from: Mailbox,
    sms: Sms,
}

/// What a transport did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Handed to the SMTP server or the SMS provider.
    Delivered,
    /// Only logged (`MAIL_TRANSPORT=log`, `SMS_PROVIDER=log`).
    Logged,
}

impl Transports {
    /// The transports `config` describes; what is wrong with it otherwise.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config.mail_from.parse().map_err(|error| {
            anyhow::anyhow!(
                "MAIL_FROM {:?} is not a mailbox (`Name <address>`): {error}",
                config.mail_from
            )
        })?;
        let mail = match config.mail_transport {
            MailTransport::Log => Mail::Log,
            MailTransport::Smtp => {
                let url = microshop_auth::secret_or_file(&config.smtp_url, "SMTP_URL")?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|error| {
                        anyhow::anyhow!(
                            "SMTP_URL is not an SMTP URL (smtp://host:port, smtps://...): {error}"
                        )
                    })?
                    .timeout(Some(config.notification_send_timeout))
                    .build();
                Mail::Smtp(transport)
            }
        };
        let sms = match config.sms_provider {
            SmsProvider::Log => Sms::Log,
            SmsProvider::Webhook => {
                let url = config
                    .sms_webhook_url
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("SMS_PROVIDER=webhook needs SMS_WEBHOOK_URL"))?;
                let secret = config.sms_webhook_secret.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("SMS_PROVIDER=webhook needs SMS_WEBHOOK_SECRET")
                })?;
                Sms::Webhook {
                    client: reqwest::Client::builder()
                        .timeout(config.notification_send_timeout)
                        .connect_timeout(Duration::from_secs(5))
                        .build()?,
                    url,
                    secret: microshop_auth::secret_or_file(secret, "SMS_WEBHOOK_SECRET")?,
                }
            }
        };
        Ok(Self { mail, from, sms })
    }

    /// Sends notification `id` as e-mail to `to`.
    pub async fn email(&self, id: i64, to: &str, message: &Rendered) -> Result<Sent, SendError> {
        let to: Mailbox = to.parse().map_err(|error| {
            SendError::Permanent(format!("{to:?} is not an e-mail address: {error}"))
        })?;
        let html = message.html.clone().unwrap_or_default();
        let body = MultiPart::alternative_plain_html(message.text.clone(), html);
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            // The notification's id: a reader (or a test) can tell two sends of one apart.
            .message_id(Some(format!("<notification-{id}@microshop>")))
            .multipart(body)
            .map_err(|error| SendError::Permanent(format!("cannot build the message: {error}")))?;
        match &self.mail {
            Mail::Log => Ok(Sent::Logged),
            Mail::Smtp(transport) => match transport.send(email).await {
                Ok(_) => Ok(Sent::Delivered),
                Err(error) if error.is_permanent() => Err(SendError::Permanent(format!(
                    "the SMTP server refused it: {error}"
                ))),
                Err(error) => Err(SendError::Transient(format!("SMTP: {error}"))),
            },
        }
    }

    /// Sends notification `id` as a text message to `to`.
    pub async fn sms(&self, id: i64, to: &str, text: &str) -> Result<Sent, SendError> {
        let (client, url, secret) = match &self.sms {
            Sms::Log => return Ok(Sent::Logged),
            Sms::Webhook {
                client,
                url,
                secret,
            } => (client, url, secret),
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "id": format!("notification-{id}"),
            "to": to,
            "body": text,
        }))
        .map_err(|error| SendError::Permanent(error.to_string()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header(
                microshop_webhook::HEADER,
                microshop_webhook::sign(secret, now, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|error| SendError::Transient(format!("SMS provider: {error}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(Sent::Delivered)
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(SendError::Transient(format!(
                "the SMS provider answered {status}"
            )))
        } else {
            Err(SendError::Permanent(format!(
                "the SMS provider refused it: {status}"
            )))
        }
    }
}
