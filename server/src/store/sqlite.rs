//! SQLite's settings and connection pools.

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

/// SQLite connections that only read, beside the writer: in WAL mode they read the last commit
/// while the writer works, so a lookup never queues behind a transaction and its disk sync.
/// One per core: each has its own thread, and more only add thread switches (on 2 cores, 4
/// readers served about 5% fewer requests than 2).
pub(super) fn sqlite_readers() -> u32 {
    std::thread::available_parallelism()
        .map_or(2, |n| u32::try_from(n.get()).unwrap_or(2).clamp(1, 8))
}

/// Every SQLite connection that may write. WAL lets readers (and the backup command) read while
/// the server writes; FULL: an acknowledged write survives power loss, not just a crash. Two
/// connections write (the admission writer and the pool's one), so each waits for the other's
/// lock rather than failing. The WAL is copied back into the database every 8,000 pages (32 MiB,
/// the file's size from then on) rather than SQLite's 1,000: replay records and key counters land
/// on random pages, so a longer stretch writes each page back once for more of its changes
/// (about 5% more requests per second at 64 connections, BENCHMARKS.md).
pub(crate) const SETTINGS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
     PRAGMA wal_autocheckpoint = 8000; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";

/// SQLite connections with Sigil's settings; `read_only` ones refuse to write.
pub(super) fn sqlite_pool(connections: u32, read_only: bool) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(SETTINGS).await?;
                if read_only {
                    conn.execute("PRAGMA query_only = ON").await?;
                }
                Ok(())
            })
        })
}

/// `url` with `param` added to its query string.
pub(super) fn with_query(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}
