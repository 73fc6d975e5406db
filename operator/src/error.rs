//! What can go wrong in a reconcile, with the reason a condition or event reports.

/// Why provisioning on PostgreSQL or RabbitMQ failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The admin Secret's value is not a `postgres://` URI.
    #[error(
        "the PostgreSQL admin URI is not valid ({0}); expected postgres://user:password@host:5432/postgres"
    )]
    InvalidPostgresUri(String),
    /// PostgreSQL could not be reached or refused a statement.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// The RabbitMQ Secret's value is not an `amqp://` URI.
    #[error("the RabbitMQ URI is not valid ({0}); expected amqp://user:password@host:5672/")]
    InvalidAmqpUri(String),
    /// RabbitMQ could not be reached or refused a declaration.
    #[error("RabbitMQ: {0}")]
    RabbitMq(String),
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Secret the spec names does not exist (or lacks the key).
    #[error(
        "Secret {namespace}/{name} has no key {key:?}: create it with the {what} under that key"
    )]
    MissingSecret {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The key the spec names.
        key: String,
        /// What the value should be.
        what: &'static str,
    },
    /// PostgreSQL or RabbitMQ.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// The Kubernetes API refused or failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// A Microshop without namespace or UID: never stored by an API server.
    #[error("the Microshop has no namespace or UID")]
    NotStored,
    /// A phase that did not run because an earlier one failed (reported in the status only).
    #[error("{0}")]
    Blocked(String),
}

impl Error {
    /// The `CamelCase` reason conditions and events carry.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingSecret { .. } => "SecretMissing",
            Self::Provision(ProvisionError::InvalidPostgresUri(_)) => "InvalidPostgresUri",
            Self::Provision(ProvisionError::Postgres(_)) => "PostgresUnavailable",
            Self::Provision(ProvisionError::InvalidAmqpUri(_)) => "InvalidAmqpUri",
            Self::Provision(ProvisionError::RabbitMq(_)) => "RabbitMqUnavailable",
            Self::Kube(_) => "KubernetesApiError",
            Self::NotStored => "NotStored",
            Self::Blocked(_) => "Blocked",
        }
    }
}
