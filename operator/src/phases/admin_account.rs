//! The shop's first admin account: its password is generated once into `<shop>-admin` and
//! kept; its e-mail address follows `spec.admin.email`. The user service reads both at start-up
//! and creates the account if the address is not registered yet (it never resets the password
//! of an existing one). The account lives in the user database, so the Secret follows that
//! database's Secret: no owner reference, kept under `Retain` (a shop made again over the kept
//! database finds the password its admin has), deleted by the cleanup under `Delete`.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use secrecy::{ExposeSecret, SecretString};

use crate::apply::value_of;
use crate::error::Error;
use crate::names;
use crate::phases::generated;
use crate::provision::postgres::generate_password;
use crate::resources::{ADMIN_PASSWORD_KEY, Shop};

/// The first admin account as the user service's pods read it.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    /// Its e-mail address (`spec.admin.email`).
    pub email: String,
    /// Its password (32 alphanumeric characters from a CSPRNG, unless someone set another).
    pub password: SecretString,
}

/// The account in the shop's admin account Secret: the password it holds (a new one when it
/// holds none, or an empty one), with the e-mail address of the spec.
pub async fn ensure(shop: &Shop<'_>, client: &Client) -> Result<AdminAccount, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &shop.namespace);
    let name = names::admin_account_secret(&shop.name);
    let email = shop.resource.spec.admin.email.clone();
    let password = generated::keep(
        shop,
        &secrets,
        &name,
        |secret| {
            value_of(secret, ADMIN_PASSWORD_KEY)
                .filter(|password| !password.is_empty())
                .map(SecretString::from)
        },
        // `rand::rng()`: ChaCha12 seeded from the OS, a CSPRNG.
        || SecretString::from(generate_password()),
        |password| shop.admin_account_secret(&email, password.expose_secret()),
    )
    .await?;
    if password.generated {
        tracing::info!(shop = %shop.name, namespace = %shop.namespace, secret = %name, "first admin's password generated");
    }
    Ok(AdminAccount {
        email,
        password: password.value,
    })
}
