//! `sigil-server backup DIR`: a consistent copy of a running server's data, for operators.
//!
//! - SQLite: the database is copied with `VACUUM INTO` (one read transaction, so writers carry
//!   on and the copy is a single point in time) and checked. The result is a data directory:
//!   `sigil-server --data-dir DIR` starts from it.
//! - PostgreSQL: `pg_dump --format=custom` (one snapshot as well) writes `sigil.pgdump`, which
//!   `pg_restore` loads into an empty database.
//!
//! Either way the key files are copied beside the database: without the email-hash key the
//! accounts cannot be found again.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::keys::{EMAIL_HASH_KEY_FILE, SERVER_KEY_FILE};
use crate::store::{Backend, Store};

/// The database file's name inside a data directory.
pub const DATABASE_FILE: &str = "sigil.db";
/// The PostgreSQL dump's name inside a backup directory.
pub const POSTGRES_DUMP_FILE: &str = "sigil.pgdump";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; back up into a new directory")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database could not be copied: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the copy failed its integrity check: {0}")]
    Corrupt(String),
    #[error("pg_dump could not be run ({0}); install PostgreSQL's client tools")]
    PgDumpMissing(std::io::Error),
    #[error("pg_dump failed: {0}")]
    PgDump(String),
    #[error("the database URL does not parse: {0}")]
    Url(String),
}

/// What a backup holds, for the operator's console.
#[derive(Debug)]
pub struct BackupReport {
    pub database: PathBuf,
    pub accounts: i64,
    /// Key files copied; a key given by configuration instead must be kept with the backup.
    pub key_files: Vec<PathBuf>,
    pub keys_from_config: Vec<&'static str>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

pub async fn backup(config: &Config, dest: &Path) -> Result<BackupReport, BackupError> {
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_owned()));
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dest)
        .map_err(io(dest))?;
    let live = Store::open(&config.database_url).await?;
    let accounts = live.account_count().await?;
    let database = match live.backend() {
        Backend::Sqlite => {
            let database = dest.join(DATABASE_FILE);
            live.copy_into(&database).await?;
            live.close().await;
            let copy = Store::open(&format!("sqlite://{}", database.display())).await?;
            let integrity = copy.integrity_check().await?;
            let accounts_in_copy = copy.account_count().await?;
            copy.close().await;
            if integrity != "ok" {
                return Err(BackupError::Corrupt(integrity));
            }
            // Accounts made between the two counts are in the copy; report what it holds.
            return finish(config, dest, database, accounts_in_copy);
        }
        Backend::Postgres => {
            live.close().await;
            let database = dest.join(POSTGRES_DUMP_FILE);
            pg_dump(&config.database_url, &database).await?;
            database
        }
    };
    finish(config, dest, database, accounts)
}

/// Runs pg_dump into `file`. A password in the URL goes through the environment, not the
/// command line, where every user of the machine could read it.
async fn pg_dump(url: &str, file: &Path) -> Result<(), BackupError> {
    let mut url = url::Url::parse(url).map_err(|e| BackupError::Url(e.to_string()))?;
    let password = url.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    url.set_password(None)
        .map_err(|()| BackupError::Url("it cannot carry a password".into()))?;
    let mut command = tokio::process::Command::new("pg_dump");
    command
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(file)
        .arg("--dbname")
        .arg(url.as_str());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.map_err(BackupError::PgDumpMissing)?;
    if !output.status.success() {
        return Err(BackupError::PgDump(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    set_owner_only(file)
}

fn set_owner_only(file: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(file, fs::Permissions::from_mode(0o600)).map_err(io(file))
}

/// Copies the key files beside the database copy.
fn finish(
    config: &Config,
    dest: &Path,
    database: PathBuf,
    accounts: i64,
) -> Result<BackupReport, BackupError> {
    let mut key_files = Vec::new();
    let mut keys_from_config = Vec::new();
    for (file, configured, name) in [
        (SERVER_KEY_FILE, config.server_key.is_some(), "server key"),
        (
            EMAIL_HASH_KEY_FILE,
            config.email_hash_key.is_some(),
            "email-hash key",
        ),
    ] {
        if configured {
            keys_from_config.push(name);
            continue;
        }
        let (from, to) = (config.data_dir.join(file), dest.join(file));
        let bytes = fs::read(&from).map_err(io(&from))?;
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&to)
            .map_err(io(&to))?;
        std::io::Write::write_all(&mut out, &bytes).map_err(io(&to))?;
        out.sync_all().map_err(io(&to))?;
        key_files.push(to);
    }
    Ok(BackupReport {
        database,
        accounts,
        key_files,
        keys_from_config,
    })
}
