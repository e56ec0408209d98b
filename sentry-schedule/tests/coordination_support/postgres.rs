//! A PostgreSQL schema of its own for one test. Included by path from the test files that
//! use PostgreSQL only (`mod.rs` is also built without it); the including module has
//! `server_url` and `unique_name` of `coordination_support` in scope.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use sentry_schedule::coordinator::sqlx::{self, postgres::PgPool};

/// A fresh schema on the server of `SENTRY_SCHEDULE_TEST_POSTGRES_URL`.
pub(crate) struct Db {
    /// The server's URL.
    pub url: String,
    /// A pool of the URL's role, for setup and checks.
    pub admin: PgPool,
    /// The schema's name.
    pub schema: String,
}

impl Db {
    /// Creates a schema named `sstest_<random>`; `None` (test skipped) outside CI without a
    /// server.
    pub(crate) async fn new() -> Option<Db> {
        let url = super::server_url("SENTRY_SCHEDULE_TEST_POSTGRES_URL")?;
        let admin = PgPool::connect(&url).await.expect("connect to PostgreSQL");
        let schema = super::unique_name("sstest");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .unwrap();
        Some(Db { url, admin, schema })
    }

    /// Drops the schema and everything in it.
    pub(crate) async fn drop_schema(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}
