//! One batch of admitted requests: which are fresh, and each signer's count in its window. The
//! rules and the SQL are shared by the two writers: [`admit_in_pool`] through sqlx (PostgreSQL and
//! in-memory databases) and [`super::sqlite_writer`] on an SQLite file.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::store::{Backend, Store, StoreError};

use super::{Admitted, Ticket};

/// Records a batch of checked requests in one transaction of two statements, with rows in key
/// order so that it cannot deadlock against another process's batch; one answer per ticket, in
/// the tickets' order.
pub(super) async fn admit_in_pool(
    store: &Store,
    tickets: &[Ticket],
    key_window: i64,
) -> Result<Vec<Admitted>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.pool().begin().await?;

    // Replay records: the ids the database did not hold yet come back.
    let ids = distinct_ids(tickets);
    let sql = replay_sql(store.backend(), ids.len());
    let mut insert = sqlx::query_scalar::<_, Vec<u8>>(&sql);
    for (id, forget_after) in &ids {
        insert = insert.bind(id.as_slice()).bind(*forget_after);
    }
    let new_ids: HashSet<Vec<u8>> = insert.fetch_all(&mut *tx).await?.into_iter().collect();
    let fresh = first_of_new(tickets, |id| new_ids.contains(id.as_slice()));

    // Key counters, one row per signer however many of its requests the batch holds.
    let signers = requests_by_signer(tickets, &fresh);
    let mut totals = HashMap::new();
    if !signers.is_empty() {
        let sql = key_counter_sql(signers.len());
        let mut upsert = sqlx::query_as::<_, (Vec<u8>, i64, i64)>(&sql).bind(key_window);
        for (signer, batch) in &signers {
            upsert = upsert
                .bind(signer.as_slice())
                .bind(batch.now)
                .bind(batch.requests);
        }
        totals = upsert
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(signer, requests, start)| (signer, (requests, start)))
            .collect();
    }
    tx.commit().await?;
    Ok(number_requests(tickets, &fresh, &signers, &totals))
}

/// `rows` groups of `columns` numbered parameters from `$first`: `($2, $3), ($4, $5)`.
fn placeholders(first: usize, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", first + row * columns + column));
        }
        sql.push(')');
    }
    sql
}

/// Each id of the batch once, with the end of its replay window, in key order.
pub(crate) fn distinct_ids(tickets: &[Ticket]) -> BTreeMap<[u8; 32], i64> {
    tickets
        .iter()
        .map(|t| (t.event_id, t.forget_after))
        .collect()
}

/// Records `rows` event ids (`$1`, `$2` for the first: id, end of window); the ids the
/// database did not hold yet come back.
///
/// On SQLite, `OR IGNORE` rather than `ON CONFLICT DO NOTHING`: a statement that cannot fail
/// halfway needs no statement journal, so SQLite does not copy each page it changes aside
/// first. A row it skipped for any reason is not new, so it is refused as a replay.
pub(crate) fn replay_sql(backend: Backend, rows: usize) -> String {
    let values = placeholders(1, rows, 2);
    match backend {
        Backend::Sqlite => {
            format!(
                "INSERT OR IGNORE INTO seen_events (id, expires_at) VALUES {values} RETURNING id"
            )
        }
        Backend::Postgres => format!(
            "INSERT INTO seen_events (id, expires_at) VALUES {values} ON CONFLICT DO NOTHING RETURNING id"
        ),
    }
}

/// Adds `rows` signers' requests to their counters (`$1`: the window in seconds; from `$2`,
/// three per signer: key, clock, requests). A window that has ended starts again at this
/// batch's requests. Returns each signer's total and window start.
pub(crate) fn key_counter_sql(rows: usize) -> String {
    format!(
        "INSERT INTO key_throttles (pubkey, window_start, requests) VALUES {}
         ON CONFLICT (pubkey) DO UPDATE SET
             requests = CASE WHEN key_throttles.window_start <= excluded.window_start - $1
                             THEN excluded.requests
                             ELSE key_throttles.requests + excluded.requests END,
             window_start = CASE WHEN key_throttles.window_start <= excluded.window_start - $1
                                 THEN excluded.window_start
                                 ELSE key_throttles.window_start END
         RETURNING pubkey, requests, window_start",
        placeholders(2, rows, 3)
    )
}

/// Which tickets are fresh: those whose id `is_new` to the database, each id counted once
/// (a second copy in the same batch is a replay of the first).
pub(crate) fn first_of_new(tickets: &[Ticket], is_new: impl Fn(&[u8; 32]) -> bool) -> Vec<bool> {
    let mut claimed = HashSet::new();
    tickets
        .iter()
        .map(|t| is_new(&t.event_id) && claimed.insert(t.event_id))
        .collect()
}

/// A signer's fresh requests in one batch, and the latest of their clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignerBatch {
    pub requests: i64,
    pub now: i64,
}

pub(crate) fn requests_by_signer(
    tickets: &[Ticket],
    fresh: &[bool],
) -> BTreeMap<[u8; 32], SignerBatch> {
    let mut signers = BTreeMap::new();
    for (ticket, _) in tickets.iter().zip(fresh).filter(|(_, fresh)| **fresh) {
        let batch = signers.entry(ticket.signer).or_insert(SignerBatch {
            requests: 0,
            now: ticket.now,
        });
        batch.requests += 1;
        batch.now = batch.now.max(ticket.now);
    }
    signers
}

/// Gives each fresh ticket its place in its signer's window, in the order the tickets came:
/// a signer's `n` requests in a batch that brought its count to `total` are `total - n + 1`
/// up to `total`.
pub(crate) fn number_requests(
    tickets: &[Ticket],
    fresh: &[bool],
    signers: &BTreeMap<[u8; 32], SignerBatch>,
    totals: &HashMap<Vec<u8>, (i64, i64)>,
) -> Vec<Admitted> {
    let mut answers = vec![Admitted::default(); tickets.len()];
    let mut numbered: HashMap<[u8; 32], i64> = HashMap::new();
    for (i, ticket) in tickets.iter().enumerate() {
        let (Some(batch), Some(&(total, window_start))) = (
            signers.get(&ticket.signer),
            totals.get(ticket.signer.as_slice()),
        ) else {
            continue;
        };
        if !fresh[i] {
            continue;
        }
        let before = numbered.entry(ticket.signer).or_default();
        *before += 1;
        answers[i] = Admitted {
            fresh: true,
            key_requests: total - batch.requests + *before,
            key_window_start: window_start,
        };
    }
    answers
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::admission::tests::ticket;

    #[test]
    fn placeholders_number_every_column_of_every_row() {
        assert_eq!(placeholders(1, 1, 1), "($1)");
        assert_eq!(placeholders(2, 2, 3), "($2, $3, $4), ($5, $6, $7)");
    }

    #[test]
    fn a_second_copy_of_an_id_in_one_batch_is_a_replay() {
        let tickets = [
            ticket(1, 9, 0),
            ticket(2, 9, 0),
            ticket(1, 9, 0),
            ticket(3, 9, 0),
        ];
        let fresh = first_of_new(&tickets, |id| id[0] != 3);
        assert_eq!(fresh, [true, true, false, false]);
    }

    #[test]
    fn a_signers_requests_are_numbered_in_arrival_order_up_to_its_total() {
        let tickets = [
            ticket(1, 7, 10),
            ticket(2, 8, 11),
            ticket(3, 7, 12),
            ticket(4, 7, 9),
        ];
        let fresh = [true, true, false, true];
        let signers = requests_by_signer(&tickets, &fresh);
        assert_eq!(
            signers[&[7; 32]],
            SignerBatch {
                requests: 2,
                now: 10
            }
        );
        assert_eq!(
            signers[&[8; 32]],
            SignerBatch {
                requests: 1,
                now: 11
            }
        );
        // The database had 5 requests of signer 7 in its window before this batch.
        let totals = HashMap::from([(vec![7; 32], (7, 3)), (vec![8; 32], (1, 11))]);
        let answers = number_requests(&tickets, &fresh, &signers, &totals);
        let counts: Vec<(bool, i64)> = answers.iter().map(|a| (a.fresh, a.key_requests)).collect();
        assert_eq!(counts, [(true, 6), (true, 1), (false, 0), (true, 7)]);
        assert_eq!(answers[0].key_window_start, 3);
    }
}
