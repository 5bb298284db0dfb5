//! `sigil-server backup DIR`: a consistent copy of a running server's data, for operators. The
//! database is copied with SQLite's `VACUUM INTO` (one read transaction, so writers carry on and
//! the copy is a single point in time) and checked; the key files are copied beside it. The
//! result is a data directory: `sigil-server --data-dir DIR` starts from it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::keys::{EMAIL_HASH_KEY_FILE, SERVER_KEY_FILE};
use crate::store::Store;

/// The database file's name inside a data directory.
pub const DATABASE_FILE: &str = "sigil.db";

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
    let database = dest.join(DATABASE_FILE);
    let live = Store::open(&config.database_url).await?;
    live.copy_into(&database).await?;
    live.close().await;

    let copy = Store::open(&format!("sqlite://{}", database.display())).await?;
    let integrity = copy.integrity_check().await?;
    let accounts = copy.account_count().await?;
    copy.close().await;
    if integrity != "ok" {
        return Err(BackupError::Corrupt(integrity));
    }

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
