pub mod cluster;
pub mod fake_api;
pub mod shop;
pub mod ssa;
pub mod tls;

/// The PostgreSQL server the tests provision on, as an admin URI (`DATABASE_URL`, which
/// `make test` sets for every test, else the local server).
#[allow(dead_code)] // not every test crate provisions
pub fn pg_admin_uri() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into())
}

/// A local port nothing listens on: a server that is down.
#[allow(dead_code)] // not every test crate needs one
pub fn closed_port() -> u16 {
    // Not a port just freed by binding port 0: under `make test` hundreds of tests bind
    // ephemeral ports, and one of them may take it again (a proxy to PostgreSQL, say) before the
    // connection is tried. Port 1 (tcpmux) is privileged and unassigned here: refused at once.
    1
}
