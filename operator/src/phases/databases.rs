//! Phase 1: a role, a database and a Secret with `DATABASE_URL` for each service.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::apply::{ensure, secret_value, value_of};
use crate::crd::{DatabaseStatus, Service};
use crate::error::Error;
use crate::names;
use crate::provision::postgres::{PostgresAdmin, generate_password};
use crate::resources::{PASSWORD_KEY, Shop};

/// What the admin Secret must hold.
pub const ADMIN_URI: &str = "PostgreSQL admin URI (postgres://user:password@host:5432/postgres)";

/// Creates what is missing; an existing Secret's password is kept (and given to a role that
/// had to be created again), a missing Secret gets a new password set on the role.
pub async fn ensure_all(shop: &Shop<'_>, client: &Client) -> Result<Vec<DatabaseStatus>, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let reference = &shop.resource.spec.postgres.admin_secret_ref;
    let admin_uri = secret_value(&secrets, &shop.namespace, reference, ADMIN_URI).await?;
    let mut admin = PostgresAdmin::connect(&admin_uri).await?;
    let mut databases = Vec::with_capacity(Service::ALL.len());
    let mut result = Ok(());
    for service in Service::ALL {
        match ensure_one(shop, service, &secrets, &mut admin).await {
            Ok(database) => databases.push(database),
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
) -> Result<DatabaseStatus, Error> {
    let database = names::database(&shop.namespace, &shop.name, service);
    let secret_name = names::database_secret(&shop.name, service);
    let kept = secrets
        .get_opt(&secret_name)
        .await?
        .and_then(|secret| value_of(&secret, PASSWORD_KEY));
    let generated = kept.is_none();
    let password = kept.unwrap_or_else(generate_password);
    admin
        .ensure_database(&database, &password, generated)
        .await?;
    let url = admin.service_url(&database, &password);
    ensure(secrets, &shop.database_secret(service, &url, &password)).await?;
    if generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, %database, secret = %secret_name, "database credentials written");
    }
    Ok(DatabaseStatus {
        service: service.name().to_owned(),
        database,
        secret_name,
    })
}
