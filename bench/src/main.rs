//! `sigil-load`: drives a real `sigil-server` over loopback with pre-mined, valid request events
//! at fixed concurrency levels, and reports requests per second, p50/p99 latency, the server's
//! CPU use and memory, on SQLite or PostgreSQL. `scripts/bench.sh` runs it for both.
//!
//! Every request is a full verified request: envelope checks (size, JSON, kind, tags, window,
//! proof of work, id, Schnorr signature), the replay record, the per-key counter, NIP-44
//! decryption, the method (`get_backup` of an unknown key: a database read), and a sealed,
//! signed reply. Each comes from its own fresh key, as from many clients.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use sigil_bench::{Latency, cpu_time, crypto_rate, latency, status_mib};
use sigil_shared::dvm::{ServerKeys, seal_request};
use sigil_shared::info::{EVENTS_PATH, ServerInfo, WELL_KNOWN_PATH};
use sigil_shared::method::Request;
use sigil_shared::nostr::key::{Keys, PublicKey};
use sigil_shared::nostr::types::Timestamp;
use sqlx::{AnyConnection, Connection};

/// Low, so that pre-mining is quick: checking the work costs the server one hash whatever the
/// difficulty, so the figures do not depend on it.
const DIFFICULTY: u8 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Database {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for sigil-server")]
struct Args {
    /// The server binary; a release build.
    #[arg(long, default_value = "target/release/sigil-server")]
    server: PathBuf,
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Database,
    /// PostgreSQL server for `--database postgres`; a fresh database is made and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Concurrent connections, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Requests per run.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Runs of each concurrency level, taking turns (1, 16, 64, 1, 16, 64, ...), so that a
    /// passing burst of load on the machine is one round's outlier rather than the figure.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Also write the results here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}")]
    Setup(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
}

#[derive(Debug, serde::Serialize)]
struct Run {
    database: Database,
    /// 1 for the first round of every level.
    round: u32,
    concurrency: usize,
    requests: usize,
    failed: usize,
    requests_per_second: f64,
    latency: Option<Latency>,
    /// Server CPU time over wall time: 2.0 is both cores busy.
    server_cpu_cores: f64,
    /// The same for this load generator, which shares the machine.
    generator_cpu_cores: f64,
    server_rss_mib: f64,
    server_peak_rss_mib: f64,
    /// Requests per second of the server's cryptography alone on every core, measured just
    /// before this run: the ceiling of `requests_per_second` on this machine at that moment.
    crypto_only_per_second: f64,
}

/// The server process under test; killed when dropped.
struct ServerUnderTest {
    child: Child,
    base: String,
}

impl Drop for ServerUnderTest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerUnderTest {
    fn start(args: &Args, data: &std::path::Path, database_url: &str) -> Result<Self, LoadError> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| LoadError::Setup(format!("no free port: {e}")))?
            .port();
        let child = Command::new(&args.server)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .arg("--web-dir")
            .arg(data.join("no-web"))
            .args(["--database-url", database_url])
            .args(["--pow-difficulty", &DIFFICULTY.to_string()])
            .args(["--requests-per-key-per-minute", "10000"])
            .args(["--max-in-flight", "4096", "--log", "warn"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| {
                LoadError::Setup(format!(
                    "{}: {e} (build it with cargo build --release -p sigil-server)",
                    args.server.display()
                ))
            })?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }

    async fn info(&self, http: &reqwest::Client) -> Result<ServerInfo, LoadError> {
        for _ in 0..200 {
            if let Ok(response) = http
                .get(format!("{}{WELL_KNOWN_PATH}", self.base))
                .send()
                .await
            {
                return Ok(response.json().await?);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(LoadError::Setup("the server did not come up".into()))
    }
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// `count` valid, distinct request events, mined on every core.
fn premine(server: &PublicKey, count: usize) -> Result<Vec<String>, LoadError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let now = Timestamp::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let share = count / threads + usize::from(t < count % threads);
                scope.spawn(move || {
                    (0..share)
                        .map(|_| {
                            seal_request(
                                &Keys::generate(),
                                server,
                                &Request::GetBackup { version: None },
                                DIFFICULTY,
                                now,
                            )
                            .map(|e| e.as_json())
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut events = Vec::with_capacity(count);
        for worker in workers {
            let mined = worker
                .join()
                .map_err(|_| LoadError::Setup("a miner thread panicked".into()))?
                .map_err(|e| LoadError::Setup(format!("sealing a request: {e}")))?;
            events.extend(mined);
        }
        Ok(events)
    })
}

/// Sends every event in `events` over `concurrency` connections; latencies and failures.
async fn drive(
    http: &reqwest::Client,
    url: &str,
    events: Vec<String>,
    concurrency: usize,
) -> Result<(Vec<Duration>, usize), LoadError> {
    let events = Arc::new(events);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, events, next) =
            (http.clone(), url.to_owned(), events.clone(), next.clone());
        tasks.spawn(async move {
            let (mut samples, mut failed) = (Vec::new(), 0);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(event) = events.get(index) else {
                    return (samples, failed);
                };
                let started = Instant::now();
                let outcome = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(event.clone())
                    .send()
                    .await;
                let ok = match outcome {
                    Ok(response) => {
                        let status = response.status();
                        response.bytes().await.is_ok() && status == 200
                    }
                    Err(_) => false,
                };
                samples.push(started.elapsed());
                failed += usize::from(!ok);
            }
        });
    }
    let (mut samples, mut failed) = (Vec::new(), 0);
    while let Some(joined) = tasks.join_next().await {
        let (s, f) = joined.map_err(|e| LoadError::Setup(format!("a load task failed: {e}")))?;
        samples.extend(s);
        failed += f;
    }
    Ok((samples, failed))
}

async fn admin(postgres: &str, sql: &str) -> Result<(), LoadError> {
    let mut connection = AnyConnection::connect(&format!("{postgres}/postgres")).await?;
    sqlx::query(sql).execute(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

async fn run(args: Args) -> Result<Vec<Run>, LoadError> {
    sqlx::any::install_default_drivers();
    let data = tempfile::tempdir().map_err(|e| LoadError::Setup(e.to_string()))?;
    let pg_name = format!("sigil_bench_{}", std::process::id());
    let database_url = match args.database {
        Database::Sqlite => format!("sqlite://{}", data.path().join("sigil.db").display()),
        Database::Postgres => {
            admin(&args.postgres, &format!("CREATE DATABASE {pg_name}")).await?;
            format!("{}/{pg_name}", args.postgres)
        }
    };
    let outcome = measure(&args, data.path(), &database_url).await;
    if args.database == Database::Postgres {
        admin(
            &args.postgres,
            &format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"),
        )
        .await?;
    }
    outcome
}

#[allow(clippy::print_stdout)] // the report is the program's output
async fn measure(
    args: &Args,
    data: &std::path::Path,
    database_url: &str,
) -> Result<Vec<Run>, LoadError> {
    let server = ServerUnderTest::start(args, data, database_url)?;
    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_concurrency)
        .build()?;
    let info = server.info(&http).await?;
    let pubkey = PublicKey::from_hex(&info.pubkey)
        .map_err(|e| LoadError::Setup(format!("server key: {e}")))?;
    let url = format!("{}{EVENTS_PATH}", server.base);
    let ticks = clock_ticks();

    // Warm-up: connections, the database's caches, the allocator.
    let warm = premine(&pubkey, 2_000.min(args.requests))?;
    drive(&http, &url, warm, max_concurrency.min(16)).await?;

    // The same number of requests for a key of this process's own, whose cryptography alone is
    // timed on every core before each run: the machine's speed at that moment, side by side.
    let local = ServerKeys::new(Keys::generate());
    let crypto_only = premine(&local.public_key(), args.requests)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    println!(
        "| database | round | connections | requests | failed | requests/s | p50 ms | p99 ms | max ms | server CPU (cores) | generator CPU (cores) | server RSS MiB | peak RSS MiB | crypto alone, every core: requests/s | requests/s of that |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut runs = Vec::new();
    let levels =
        (1..=args.rounds).flat_map(|round| args.concurrency.iter().map(move |&c| (round, c)));
    for (round, concurrency) in levels {
        let events = premine(&pubkey, args.requests)?;
        let crypto_only_per_second =
            crypto_rate(&local, &crypto_only, DIFFICULTY, cores).map_err(LoadError::Setup)?;
        let own_stat = || std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let cpu_before = cpu_time(&server.proc_file("stat"), ticks).unwrap_or_default();
        let own_before = cpu_time(&own_stat(), ticks).unwrap_or_default();
        let started = Instant::now();
        let (mut samples, failed) = drive(&http, &url, events, concurrency.max(1)).await?;
        let elapsed = started.elapsed();
        let cpu_after = cpu_time(&server.proc_file("stat"), ticks).unwrap_or_default();
        let own_after = cpu_time(&own_stat(), ticks).unwrap_or_default();
        let status = server.proc_file("status");
        let run = Run {
            database: args.database,
            round,
            concurrency,
            requests: samples.len(),
            failed,
            requests_per_second: samples.len() as f64 / elapsed.as_secs_f64(),
            latency: latency(&mut samples),
            server_cpu_cores: (cpu_after.saturating_sub(cpu_before)).as_secs_f64()
                / elapsed.as_secs_f64(),
            generator_cpu_cores: (own_after.saturating_sub(own_before)).as_secs_f64()
                / elapsed.as_secs_f64(),
            server_rss_mib: status_mib(&status, "VmRSS").unwrap_or(0.0),
            server_peak_rss_mib: status_mib(&status, "VmHWM").unwrap_or(0.0),
            crypto_only_per_second,
        };
        let l = run.latency.unwrap_or(Latency {
            p50_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
        });
        println!(
            "| {:?} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} | {:.1} | {:.0} | {:.0}% |",
            run.database,
            run.round,
            run.concurrency,
            run.requests,
            run.failed,
            run.requests_per_second,
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
            run.server_cpu_cores,
            run.generator_cpu_cores,
            run.server_rss_mib,
            run.server_peak_rss_mib,
            run.crypto_only_per_second,
            100.0 * run.requests_per_second / run.crypto_only_per_second
        );
        runs.push(run);
    }
    Ok(runs)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let json = args.json.clone();
    match run(args).await {
        Ok(runs) => {
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&runs).unwrap_or_default();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("sigil-load: {}: {e}", path.display());
                    return std::process::ExitCode::FAILURE;
                }
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sigil-load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
