//! Phase 1: a role, a database and a Secret with `DATABASE_URL` for each service (the payment
//! sandbox has none).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::apply::{secret_value, value_of};
use crate::crd::{DatabaseStatus, Service};
use crate::error::Error;
use crate::names;
use crate::phases::generated;
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
/// Secret is created first (the first writer wins, should two operator pods overlap, see
/// `generated::keep`), then the role gets the password the Secret holds, on every pass.
pub async fn ensure_all(shop: &Shop<'_>, client: &Client) -> Result<Databases, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let reference = &shop.resource.spec.postgres.admin_secret_ref;
    let admin_uri = secret_value(&secrets, &shop.namespace, reference, ADMIN_URI).await?;
    let mut admin = PostgresAdmin::connect(&admin_uri).await?;
    let mut databases = Databases::default();
    let mut result = Ok(());
    for service in Service::WITH_DATABASE {
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
    let password = generated::keep(
        shop,
        secrets,
        &secret_name,
        |secret| value_of(secret, PASSWORD_KEY),
        generate_password,
        |password| shop.database_secret(service, &admin.service_url(&database, password), password),
    )
    .await?;
    if password.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, %database, secret = %secret_name, "database credentials written");
    }
    let password = password.value;
    admin.ensure_database(&database, &password).await?;
    let url = admin.service_url(&database, &password);
    let status = DatabaseStatus {
        service: service.name().to_owned(),
        database,
        secret_name,
    };
    Ok((status, url))
}
