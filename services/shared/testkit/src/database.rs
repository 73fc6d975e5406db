//! An extra, throw-away database on the shared PostgreSQL, for tests that run several services
//! (each owns a database) while `#[sqlx::test]` provides only one.

use microshop_db::{Db, DbConfig};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// A service pool ([`Db`]) on the database of `pool` (e.g. the one `#[sqlx::test]` made):
/// small, with the services' default session limits.
pub fn db(pool: &PgPool) -> Db {
    let config = DbConfig {
        max_connections: 8,
        ..DbConfig::default()
    };
    Db::new((*pool.connect_options()).clone(), &config)
}

/// A uniquely named database, migrated, dropped when this value is dropped.
pub struct TestDatabase {
    /// A pool on the database.
    pub pool: PgPool,
    name: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    /// Creates `test_<service>_<uuid>` next to the database of `like` and runs `migrator`.
    pub async fn create(like: &PgPool, service: &str, migrator: &Migrator) -> Self {
        let name = format!("test_{service}_{}", uuid::Uuid::now_v7().simple());
        let admin = (*like.connect_options()).clone().database("postgres");
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .expect("connect as admin");
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let options = admin.clone().database(&name);
        let pool = PgPool::connect_with(options)
            .await
            .expect("connect to the test database");
        migrator.run(&pool).await.expect("migrations apply");
        Self { pool, name, admin }
    }

    /// A service pool on the database.
    pub fn db(&self) -> Db {
        db(&self.pool)
    }

    /// The URL of the database, for a service started as a process.
    pub fn url(&self) -> String {
        self.pool.connect_options().to_url_lossy().to_string()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = self.admin.clone();
        // Drop runs inside the test's runtime; a helper thread with its own runtime can block.
        // `with (force)` ends this pool's sessions server-side (the pool's sockets belong to the
        // test's runtime and cannot be used from the helper thread).
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect_with(&admin).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}
