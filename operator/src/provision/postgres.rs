//! A LOGIN role and a database owned by it, per service, on the server of the admin URI.
//!
//! Role and database names are identifiers we generate (`names::database`), so they are quoted
//! but never come from a user; passwords are ours too (alphanumeric) and reach PostgreSQL only as
//! SCRAM verifiers (`scram.rs`), still quoted as literals, because `CREATE ROLE` takes no bind
//! parameters.

use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use url::Url;

use super::ProvisionError;

/// How long connecting to the admin URI may take before the pass gives up and requeues.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Length of generated passwords (alphanumeric: ~190 bits).
const PASSWORD_LENGTH: usize = 32;

/// A session on the PostgreSQL server as its admin role.
pub struct PostgresAdmin {
    connection: PgConnection,
    admin_url: Url,
}

impl PostgresAdmin {
    /// Connects with `uri` (a `postgres://` URI of the admin role).
    pub async fn connect(uri: &str) -> Result<Self, ProvisionError> {
        let admin_url =
            Url::parse(uri).map_err(|e| ProvisionError::InvalidPostgresUri(e.to_string()))?;
        if !matches!(admin_url.scheme(), "postgres" | "postgresql") {
            return Err(ProvisionError::InvalidPostgresUri(format!(
                "the scheme is {:?}",
                admin_url.scheme()
            )));
        }
        let options: PgConnectOptions = uri
            .parse()
            .map_err(|e: sqlx::Error| ProvisionError::InvalidPostgresUri(e.to_string()))?;
        let options = options.disable_statement_logging();
        let connection = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| ProvisionError::Postgres(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| ProvisionError::Postgres(e.to_string()))?;
        Ok(Self {
            connection,
            admin_url,
        })
    }

    /// Makes `name` a LOGIN role with `password` (created, or its password set again when it
    /// differs: the Secret holding it is the source of truth) owning a database of the same name
    /// (created if missing).
    pub async fn ensure_database(
        &mut self,
        name: &str,
        password: &str,
    ) -> Result<(), ProvisionError> {
        let role = quote_identifier(name);
        // The verifier, not the password: a server logging DDL never logs the plaintext.
        let literal = quote_literal(&super::scram::verifier(password));
        if !self.role_exists(name).await? {
            self.execute(&format!("CREATE ROLE {role} WITH LOGIN PASSWORD {literal}"))
                .await?;
        } else if !self.has_password(name, password).await {
            self.execute(&format!("ALTER ROLE {role} WITH LOGIN PASSWORD {literal}"))
                .await?;
        }
        if !self.database_exists(name).await? {
            // The admin needs the role's privileges to give it a database (PostgreSQL 16+ grants
            // them to the creating role; a superuser has them anyway).
            self.execute(&format!("CREATE DATABASE {role} OWNER {role}"))
                .await?;
            self.execute(&format!("REVOKE ALL ON DATABASE {role} FROM PUBLIC"))
                .await?;
        }
        Ok(())
    }

    /// Drops the database `name` (closing its sessions) and the role `name`, if they exist.
    pub async fn drop_database(&mut self, name: &str) -> Result<(), ProvisionError> {
        let quoted = quote_identifier(name);
        self.execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .await?;
        self.execute(&format!("DROP ROLE IF EXISTS {quoted}")).await
    }

    /// Whether a role named `name` exists.
    pub async fn role_exists(&mut self, name: &str) -> Result<bool, ProvisionError> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
            name,
        )
        .await
    }

    /// Whether the role `name` has `password` for sure: only a superuser may read the stored
    /// verifier; anyone else gets `false`, and the password is simply set again.
    async fn has_password(&mut self, name: &str, password: &str) -> bool {
        let stored: Result<Option<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
                .bind(name)
                .fetch_one(&mut self.connection)
                .await;
        stored
            .ok()
            .flatten()
            .is_some_and(|verifier| super::scram::verifies(&verifier, password))
    }

    /// Whether a database named `name` exists.
    pub async fn database_exists(&mut self, name: &str) -> Result<bool, ProvisionError> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            name,
        )
        .await
    }

    /// The URL a service uses: the admin URI's host, port and options, with the service's
    /// role, password and database.
    pub fn service_url(&self, name: &str, password: &str) -> String {
        service_url(&self.admin_url, name, password)
    }

    async fn exists(&mut self, query: &'static str, name: &str) -> Result<bool, ProvisionError> {
        sqlx::query_scalar::<_, bool>(query)
            .bind(name)
            .fetch_one(&mut self.connection)
            .await
            .map_err(|e| ProvisionError::Postgres(e.to_string()))
    }

    /// Runs one statement (simple protocol: no parameters). `Executor::execute` and not
    /// `raw_sql(..).execute(..)`: the latter's future fails rustc's `Send` proof once nested in
    /// the controller's (rust-lang/rust#102211); the former is already a boxed `Send` future.
    async fn execute(&mut self, statement: &str) -> Result<(), ProvisionError> {
        sqlx::Executor::execute(&mut self.connection, statement)
            .await
            .map(drop)
            .map_err(|e| ProvisionError::Postgres(e.to_string()))
    }

    /// Closes the session politely.
    pub async fn close(self) {
        let _ = self.connection.close().await;
    }
}

/// A new random password.
pub fn generate_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(PASSWORD_LENGTH)
        .map(char::from)
        .collect()
}

fn service_url(admin_url: &Url, name: &str, password: &str) -> String {
    let mut url = admin_url.clone();
    // Setting the user and password of a postgres:// URL cannot fail: it has a host.
    let _ = url.set_username(name);
    let _ = url.set_password(Some(password));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_url_keeps_host_port_and_options() {
        let admin = Url::parse("postgres://admin:secret@db.example:6543/postgres?sslmode=require")
            .expect("valid URL");
        assert_eq!(
            service_url(&admin, "shop_user", "pw123"),
            "postgres://shop_user:pw123@db.example:6543/shop_user?sslmode=require"
        );
    }

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(quote_identifier(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn passwords_are_long_alphanumeric_and_different() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), PASSWORD_LENGTH);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
