//! One AMQP connection per process, shared by every publisher and consumer, re-opened on demand
//! after the broker restarts or the network drops.

use std::sync::Arc;
use std::time::Duration;

use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

/// Why talking to RabbitMQ failed.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// Connecting, opening a channel or an AMQP operation failed.
    #[error("RabbitMQ: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker refused (nacked) a published message.
    #[error("RabbitMQ did not accept message {message_id} (publisher confirm was a nack)")]
    Nacked {
        /// The refused message.
        message_id: String,
    },
    /// A message published as mandatory reached no queue and came back.
    #[error(
        "message {message_id} reached no queue through exchange {exchange:?} and was returned; \
         is the consumer's queue declared and bound?"
    )]
    Unroutable {
        /// The returned message.
        message_id: String,
        /// Where it was published.
        exchange: String,
    },
    /// The broker cancelled our consumer (the queue was deleted).
    #[error("RabbitMQ cancelled the consumer of queue {0}")]
    ConsumerCancelled(String),
    /// `AMQP_URL` does not parse.
    #[error("AMQP_URL is not a valid AMQP URL: {0}")]
    InvalidUrl(String),
    /// The broker did not answer in time.
    #[error("RabbitMQ did not answer within {0:?}")]
    Timeout(Duration),
}

/// A handle to the process's connection; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    url: SecretString,
    name: String,
    connection: Arc<Mutex<Option<Connection>>>,
}

impl Broker {
    /// A broker handle; nothing is opened until first use.
    pub fn new(url: SecretString, connection_name: impl Into<String>) -> Self {
        Self {
            url,
            name: connection_name.into(),
            connection: Arc::new(Mutex::new(None)),
        }
    }

    /// A new channel on the shared connection, reconnecting first if the connection is gone.
    pub async fn channel(&self) -> Result<Channel, MessagingError> {
        let mut guard = self.connection.lock().await;
        if let Some(connection) = guard.as_ref() {
            if connection.status().connected() {
                match connection.create_channel().await {
                    Ok(channel) => return Ok(channel),
                    Err(error) => {
                        tracing::warn!(%error, "AMQP channel could not be opened; reconnecting");
                    }
                }
            }
        }
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.clone().into());
        let mut uri: AMQPUri = self
            .url
            .expose_secret()
            .parse()
            .map_err(MessagingError::InvalidUrl)?;
        uri.query.frame_max.get_or_insert(FRAME_MAX);
        let connection =
            tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect_uri(uri, properties))
                .await
                .map_err(|_| MessagingError::Timeout(CONNECT_TIMEOUT))??;
        tracing::info!(connection = %self.name, "connected to RabbitMQ");
        let channel = connection.create_channel().await?;
        *guard = Some(connection);
        Ok(channel)
    }

    /// Whether the shared connection is up right now, for the readiness report. Never connects
    /// and never waits: a probe must answer at once even while a reconnect is under way.
    pub fn check(&self) -> Result<(), String> {
        let Ok(guard) = self.connection.try_lock() else {
            return Err("connecting to the broker".to_owned());
        };
        match guard.as_ref() {
            Some(connection) if connection.status().connected() => Ok(()),
            Some(_) => Err("broker connection lost; reconnecting".to_owned()),
            None => Err("not connected to the broker yet".to_owned()),
        }
    }

    /// Closes the connection (at shutdown, after consumers and relays stopped).
    pub async fn close(&self) {
        if let Some(connection) = self.connection.lock().await.take() {
            let _ = connection.close(200, "shutting down".into()).await;
        }
    }
}

/// How long connecting may take before we report the broker unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest AMQP frame we ask for, unless the URL sets `frame_max`. lapin keeps two buffers of
/// 32 frames per connection; at RabbitMQ's default of 128 KiB they held 8 MiB, most of an idle
/// service's memory. Our messages are well under 1 KiB; a larger one is simply sent in several
/// frames.
const FRAME_MAX: u32 = 16 * 1024;
