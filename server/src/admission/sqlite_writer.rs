//! The admission batches' two statements on an SQLite file, run by rusqlite on the admission
//! writer's own thread. Through sqlx each statement of a batch (begin, two writes, commit) is a
//! round trip to sqlx's connection thread and back to a runtime thread, and on a busy machine
//! every hand-off waits for a core; here the batch runs start to finish on one thread, and only
//! its requests and answers cross threads. The SQL and the rules are [`super::batch`]'s, shared
//! with the sqlx path that PostgreSQL and in-memory databases use.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Statement, TransactionBehavior};

use super::batch;
use super::{Admitted, Ticket};
use crate::store::{Backend, sqlite};

/// A read-write connection with the same settings as the pool's.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.execute_batch(sqlite::SETTINGS)?;
    // Two statements per batch size that comes up; parsing one costs as much as running it.
    connection.set_prepared_statement_cache_capacity(128);
    Ok(connection)
}

/// [`batch::admit_in_pool`] for this connection: one IMMEDIATE transaction (it writes at once,
/// so it takes the lock at once), durable when this returns.
pub fn admit(
    connection: &mut Connection,
    tickets: &[Ticket],
    key_window: i64,
) -> rusqlite::Result<Vec<Admitted>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;

    let ids = batch::distinct_ids(tickets);
    let mut insert = tx.prepare_cached(&numbered(batch::replay_sql(Backend::Sqlite, ids.len())))?;
    let values: Vec<&dyn ToSql> = ids
        .iter()
        .flat_map(|(id, forget_after)| [id as &dyn ToSql, forget_after as &dyn ToSql])
        .collect();
    bind_numbered(&mut insert, &values)?;
    let new_ids = insert
        .raw_query()
        .mapped(|row| row.get::<_, [u8; 32]>(0))
        .collect::<rusqlite::Result<HashSet<_>>>()?;
    drop(insert);
    let fresh = batch::first_of_new(tickets, |id| new_ids.contains(id));

    let signers = batch::requests_by_signer(tickets, &fresh);
    let mut totals = HashMap::new();
    if !signers.is_empty() {
        let mut upsert = tx.prepare_cached(&numbered(batch::key_counter_sql(signers.len())))?;
        let mut values: Vec<&dyn ToSql> = vec![&key_window];
        for (signer, batch) in &signers {
            values.extend([
                signer as &dyn ToSql,
                &batch.now as &dyn ToSql,
                &batch.requests as &dyn ToSql,
            ]);
        }
        bind_numbered(&mut upsert, &values)?;
        totals = upsert
            .raw_query()
            .mapped(|row| Ok((row.get::<_, Vec<u8>>(0)?, (row.get(1)?, row.get(2)?))))
            .collect::<rusqlite::Result<_>>()?;
    }
    tx.commit()?;
    Ok(batch::number_requests(tickets, &fresh, &signers, &totals))
}

/// `sql` with its `$n` parameters written `?n`: SQLite gives `?n` the index `n`, but numbers
/// `$n` (a named parameter to it) in the order they first appear.
fn numbered(sql: String) -> String {
    sql.replace('$', "?")
}

/// Binds `values[0]` to `?1`, `values[1]` to `?2` and so on.
fn bind_numbered(statement: &mut Statement<'_>, values: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for (i, value) in values.iter().enumerate() {
        statement.raw_bind_parameter(i + 1, value)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::admission::tests::ticket;
    use crate::store::tests::file_store;

    const WINDOW: i64 = 60;

    fn counts(answers: &[Admitted]) -> Vec<(bool, i64, i64)> {
        answers
            .iter()
            .map(|a| (a.fresh, a.key_requests, a.key_window_start))
            .collect()
    }

    #[tokio::test]
    async fn a_batch_here_is_answered_as_through_the_pool() {
        // Replays within a batch and across batches, two signers, and a window that ends.
        let batches = [
            vec![ticket(1, 7, 100), ticket(2, 7, 101), ticket(1, 7, 101)],
            vec![ticket(3, 8, 110), ticket(2, 7, 110), ticket(4, 7, 111)],
            vec![ticket(5, 7, 101 + WINDOW), ticket(6, 8, 111)],
        ];
        // A signer's window starts at the latest clock of the batch that opened it.
        let expected = [
            vec![(true, 1, 101), (true, 2, 101), (false, 0, 0)],
            vec![(true, 1, 110), (false, 0, 0), (true, 3, 101)],
            vec![(true, 1, 101 + WINDOW), (true, 2, 110)],
        ];

        let pool_dir = tempfile::tempdir().unwrap();
        let (pool_store, _) = file_store(pool_dir.path()).await;
        let here_dir = tempfile::tempdir().unwrap();
        let (here_store, here_file) = file_store(here_dir.path()).await;
        let mut connection = open(&here_file).unwrap();

        for (batch, expected) in batches.iter().zip(&expected) {
            let through_pool = batch::admit_in_pool(&pool_store, batch, WINDOW)
                .await
                .unwrap();
            let here = admit(&mut connection, batch, WINDOW).unwrap();
            assert_eq!(&counts(&here), expected);
            assert_eq!(here, through_pool);
        }
        assert!(admit(&mut connection, &[], WINDOW).unwrap().is_empty());
        pool_store.close().await;
        here_store.close().await;
    }

    #[tokio::test]
    async fn the_writer_runs_with_the_durable_settings() {
        let dir = tempfile::tempdir().unwrap();
        let (store, file) = file_store(dir.path()).await;
        let writer = open(&file).unwrap();
        let setting = |name: &str| -> String {
            writer
                .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
                .map(|value| format!("{value:?}"))
                .unwrap()
        };
        assert_eq!(setting("journal_mode"), "Text(\"wal\")");
        assert_eq!(setting("synchronous"), "Integer(2)", "FULL");
        assert_eq!(setting("wal_autocheckpoint"), "Integer(8000)");
        assert_eq!(setting("busy_timeout"), "Integer(5000)");
        store.close().await;
    }

    #[tokio::test]
    async fn the_pools_transactions_and_the_writer_wait_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let (store, file) = file_store(dir.path()).await;

        // The writer holds the lock while a method's transaction starts: it waits, then runs.
        let mut writer = open(&file).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let method = tokio::spawn({
            let store = store.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                tx.create_pending_user(b"hash", &[1; 32], 10).await.unwrap();
                tx.commit().await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!method.is_finished(), "the method must wait for the lock");
        writer.execute_batch("COMMIT").unwrap();
        method.await.unwrap();

        // A method's transaction holds the lock while a batch comes: the batch waits, then runs.
        let tx = store.begin().await.unwrap();
        let batch = std::thread::spawn(move || admit(&mut writer, &[ticket(1, 7, 100)], WINDOW));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!batch.is_finished(), "the batch must wait for the lock");
        tx.commit().await.unwrap();
        assert_eq!(counts(&batch.join().unwrap().unwrap()), [(true, 1, 100)]);
        store.close().await;
    }
}
