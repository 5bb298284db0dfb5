//! The database a test runs against. SQLite in the data directory by default; with
//! `SIGIL_TEST_DATABASE=postgres` a fresh PostgreSQL database per test, on the server named by
//! `SIGIL_TEST_POSTGRES_URL` (default: the local one, trust auth), dropped when the test ends.
//! `scripts/test.sh` runs the whole suite once each way.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyConnection, Connection};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

pub struct TestDatabase {
    url: String,
    /// The database's name on the PostgreSQL server, to drop it afterwards.
    postgres: Option<String>,
}

/// True when this run is the PostgreSQL pass.
pub fn on_postgres() -> bool {
    match std::env::var("SIGIL_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("SIGIL_TEST_DATABASE={other}: use sqlite or postgres"),
    }
}

fn postgres_server() -> String {
    std::env::var("SIGIL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.into())
}

async fn admin_execute(sql: &str) {
    sqlx::any::install_default_drivers();
    let server = postgres_server();
    let mut admin = AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {server} (SIGIL_TEST_POSTGRES_URL): {e}"));
    sqlx::query(sql)
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = admin.close().await;
}

impl TestDatabase {
    /// The run's database for a server whose data directory is `data_dir`.
    pub async fn new(data_dir: &Path) -> Self {
        if on_postgres() {
            Self::postgres().await
        } else {
            Self {
                url: format!("sqlite://{}", data_dir.join("sigil.db").display()),
                postgres: None,
            }
        }
    }

    /// A fresh, empty PostgreSQL database, whichever pass this is.
    pub async fn postgres() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sigil_test_{}_{}_{:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        admin_execute(&format!("CREATE DATABASE {name}")).await;
        Self {
            url: format!("{}/{name}", postgres_server()),
            postgres: Some(name),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Runs one statement on the database, as an operator with a SQL shell would.
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut connection = AnyConnection::connect(&self.url).await.expect("connect");
        sqlx::query(sql).execute(&mut connection).await.expect(sql);
        let _ = connection.close().await;
    }

    /// How many rows `table` holds.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut connection = AnyConnection::connect(&self.url).await.expect("connect");
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let count: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut connection)
            .await
            .expect("count");
        let _ = connection.close().await;
        count
    }

    /// Everything the database holds as its files (SQLite) or a full dump (PostgreSQL): what a
    /// thief who took it would have.
    pub fn stolen_bytes(&self) -> Vec<u8> {
        match &self.postgres {
            None => {
                let file = self.url.trim_start_matches("sqlite://");
                [file.to_owned(), format!("{file}-wal")]
                    .iter()
                    .filter_map(|name| std::fs::read(name).ok())
                    .flatten()
                    .collect()
            }
            Some(_) => {
                let output = Command::new("pg_dump")
                    .args(["--data-only", "--dbname", &self.url])
                    .output()
                    .expect("run pg_dump");
                assert!(output.status.success(), "pg_dump failed");
                output.stdout
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context: a thread of its own with a small runtime.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(admin_execute(&format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )));
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("the test database could not be dropped");
        }
    }
}
