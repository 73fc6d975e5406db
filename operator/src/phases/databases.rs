//! Phase 1: a role, a database and a Secret with `DATABASE_URL` for each service.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};

use crate::apply::{apply, secret_value, value_of};
use crate::crd::{DatabaseStatus, Service};
use crate::error::Error;
use crate::names;
use crate::provision::postgres::{PostgresAdmin, generate_password};
use crate::resources::{PASSWORD_KEY, Shop};

/// What the admin Secret must hold.
pub const ADMIN_URI: &str = "PostgreSQL admin URI (postgres://user:password@host:5432/postgres)";

/// The databases of one shop.
#[derive(Debug, Default)]
pub struct Databases {
    /// Per service: its database and Secret, for the status.
    pub statuses: Vec<DatabaseStatus>,
    /// Per service: the `DATABASE_URL` its pods get (for the credentials checksum).
    pub urls: BTreeMap<Service, String>,
}

/// Creates what is missing. The Secret is the source of truth for each password: a missing
/// Secret is created first (the first writer wins, should two operator pods overlap), then the
/// role gets the password the Secret holds, on every pass.
pub async fn ensure_all(shop: &Shop<'_>, client: &Client) -> Result<Databases, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let reference = &shop.resource.spec.postgres.admin_secret_ref;
    let admin_uri = secret_value(&secrets, &shop.namespace, reference, ADMIN_URI).await?;
    let mut admin = PostgresAdmin::connect(&admin_uri).await?;
    let mut databases = Databases::default();
    let mut result = Ok(());
    for service in Service::ALL {
        match ensure_one(shop, service, &secrets, &mut admin).await {
            Ok((status, url)) => {
                databases.statuses.push(status);
                databases.urls.insert(service, url);
            }
            Err(error) => {
                result = Err(error);
                break;
            }
        }
    }
    admin.close().await;
    result.map(|()| databases)
}

async fn ensure_one(
    shop: &Shop<'_>,
    service: Service,
    secrets: &Api<Secret>,
    admin: &mut PostgresAdmin,
) -> Result<(DatabaseStatus, String), Error> {
    let database = names::database(&shop.namespace, &shop.name, service);
    let secret_name = names::database_secret(&shop.name, service);
    let password = password(shop, service, secrets, admin).await?;
    admin.ensure_database(&database, &password).await?;
    let url = admin.service_url(&database, &password);
    apply(secrets, &shop.database_secret(service, &url, &password)).await?;
    let status = DatabaseStatus {
        service: service.name().to_owned(),
        database,
        secret_name,
    };
    Ok((status, url))
}

/// The password in `service`'s Secret; a new one, written into a new Secret, when it has none.
async fn password(
    shop: &Shop<'_>,
    service: Service,
    secrets: &Api<Secret>,
    admin: &PostgresAdmin,
) -> Result<String, Error> {
    let name = names::database_secret(&shop.name, service);
    let existing = secrets.get_opt(&name).await?;
    if let Some(password) = existing.as_ref().and_then(|s| value_of(s, PASSWORD_KEY)) {
        return Ok(password);
    }
    let password = generate_password();
    let database = names::database(&shop.namespace, &shop.name, service);
    let secret = shop.database_secret(service, &admin.service_url(&database, &password), &password);
    if existing.is_some() {
        // A Secret without a password (edited by hand): the new one replaces it.
        apply(secrets, &secret).await?;
    } else {
        match secrets.create(&PostParams::default(), &secret).await {
            Ok(_) => {}
            // Another operator pod created it a moment ago: its password is the one.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let stored = secrets.get_opt(&name).await?;
                if let Some(password) = stored.as_ref().and_then(|s| value_of(s, PASSWORD_KEY)) {
                    return Ok(password);
                }
                apply(secrets, &secret).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    tracing::info!(shop = %shop.name, namespace = %shop.namespace, %database, secret = %name, "database credentials written");
    Ok(password)
}
