//! Measurement helpers kept apart from the I/O of the binaries: medians, latency percentiles, the
//! process readings from `/proc`, and the rate of the server's request cryptography alone, so they
//! can be tested natively.

use std::time::{Duration, Instant};

use sigil_shared::dvm::{Exchange, ServerKeys};
use sigil_shared::error::{ErrorBody, ErrorCode};
use sigil_shared::method::Reply;
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::{Policy, check_request};

/// Latency figures of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentiles of `samples` (sorted here). None for no samples.
pub fn latency(samples: &mut [Duration]) -> Option<Latency> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let index = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[index.clamp(1, samples.len()) - 1]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Some(Latency {
        p50_ms: ms(rank(50.0)),
        p99_ms: ms(rank(99.0)),
        max_ms: ms(samples[samples.len() - 1]),
    })
}

/// The median of `samples` (sorted here): the middle one, or the mean of the middle two.
pub fn median(samples: &mut [Duration]) -> Option<Duration> {
    samples.sort_unstable();
    let n = samples.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(samples[n / 2]),
        _ => Some((samples[n / 2 - 1] + samples[n / 2]) / 2),
    }
}

/// CPU time a process has used (user + system), from the text of `/proc/PID/stat`.
pub fn cpu_time(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks_per_second as f64,
    ))
}

/// A `kB` figure of `/proc/PID/status`, such as `VmRSS` or `VmHWM` (the peak), in MiB.
pub fn status_mib(status: &str, field: &str) -> Option<f64> {
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The server's cryptography for one request, with no HTTP, runtime or database: the envelope
/// checks, the ECDH, opening the request, and sealing and signing the reply the server sends a
/// `get_backup` of an unknown key. Shared by `crypto_rate` and the criterion benchmarks.
#[derive(Debug)]
pub struct RequestCrypto<'a> {
    server: &'a ServerKeys,
    pub policy: Policy,
    pub reply: Reply,
}

impl<'a> RequestCrypto<'a> {
    /// For requests sealed to `server` with at least `min_difficulty` bits of work.
    pub fn new(server: &'a ServerKeys, min_difficulty: u8) -> Self {
        Self {
            server,
            policy: Policy {
                server: server.public_key(),
                min_difficulty,
                window_secs: 300,
                max_bytes: 64 * 1024,
            },
            reply: Reply::Error(ErrorBody::new(ErrorCode::UnknownAccount)),
        }
    }

    /// The sealed reply to `body` (a request event as JSON) at `now`, or why there is none.
    pub fn answer(&self, body: &[u8], now: Timestamp) -> Result<Event, String> {
        let request = check_request(body, &self.policy, now)
            .map_err(|code| format!("a request was refused: {code:?}"))?;
        let exchange = Exchange::new(self.server, &request);
        exchange
            .open()
            .map_err(|e| format!("opening a request: {e}"))?;
        exchange
            .seal(&self.reply)
            .map_err(|e| format!("sealing a reply: {e}"))
    }
}

/// Requests per second that the server's cryptography alone ([`RequestCrypto`]) sustains on
/// `threads` threads at once, for `bodies` (request events sealed to `server`, as JSON): the
/// ceiling of the server's rate on the same cores.
pub fn crypto_rate(
    server: &ServerKeys,
    bodies: &[String],
    min_difficulty: u8,
    threads: usize,
) -> Result<f64, String> {
    if bodies.is_empty() {
        return Err("no requests to time".into());
    }
    let crypto = RequestCrypto::new(server, min_difficulty);
    let now = Timestamp::now();
    let answer = |body: &String| crypto.answer(body.as_bytes(), now).map(drop);
    let share = bodies.len().div_ceil(threads.max(1));
    let started = Instant::now();
    std::thread::scope(|scope| {
        let running: Vec<_> = bodies
            .chunks(share)
            .map(|chunk| scope.spawn(|| chunk.iter().try_for_each(answer)))
            .collect();
        running
            .into_iter()
            .try_for_each(|t| t.join().map_err(|_| "a thread panicked".to_owned())?)
    })?;
    Ok(bodies.len() as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use sigil_shared::dvm::seal_request;
    use sigil_shared::method::Request;
    use sigil_shared::nostr::key::Keys;

    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let figures = latency(&mut samples).expect("samples");
        assert_eq!(figures.p50_ms, 50.0);
        assert_eq!(figures.p99_ms, 99.0);
        assert_eq!(figures.max_ms, 100.0);
        assert_eq!(latency(&mut []), None);
        let mut one = [Duration::from_millis(7)];
        assert_eq!(latency(&mut one).map(|l| l.p99_ms), Some(7.0));
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&mut [ms(9), ms(1), ms(5)]), Some(ms(5)));
        assert_eq!(median(&mut [ms(4), ms(1), ms(2), ms(8)]), Some(ms(3)));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn proc_readings_parse() {
        let stat = "4242 (sigil server) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100";
        assert_eq!(cpu_time(stat, 100), Some(Duration::from_secs(3)));
        let status = "Name:\tsigil-server\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_mib(status, "VmHWM"), Some(20.0));
        assert_eq!(status_mib(status, "VmRSS"), Some(10.0));
        assert_eq!(status_mib(status, "VmSwap"), None);
    }

    #[test]
    fn the_crypto_rate_answers_every_request_and_refuses_a_bad_one() {
        let server = ServerKeys::new(Keys::generate());
        let seal = || {
            let event = seal_request(
                &Keys::generate(),
                &server.public_key(),
                &Request::GetBackup { version: None },
                4,
                Timestamp::now(),
            )
            .expect("sealed");
            event.as_json()
        };
        let bodies: Vec<String> = (0..5).map(|_| seal()).collect();
        let rate = crypto_rate(&server, &bodies, 4, 2).expect("every request answered");
        assert!(rate > 0.0 && rate.is_finite(), "{rate}");

        // Sealed to another server: refused, so the rate is never of work left undone.
        let other = ServerKeys::new(Keys::generate());
        let refused = crypto_rate(&other, &bodies, 4, 2);
        assert!(
            matches!(&refused, Err(m) if m.contains("refused")),
            "{refused:?}"
        );
        assert!(crypto_rate(&server, &[], 4, 2).is_err(), "nothing to time");
    }
}
