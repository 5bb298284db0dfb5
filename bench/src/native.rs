//! `sigil-native`: the native anchors of the browser benchmarks (`bench/web`). Times Sigil's own
//! Argon2id and NIP-13 miner, compiled for this machine, on the inputs the browser uses
//! (`bench/web/inputs.json`), and prints the figures as JSON for `scripts/bench.sh`.

use sigil_shared::argon2id::ThisThread;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::{Deserialize, Serialize};
use sigil_bench::median;
use sigil_shared::argon2id;
use sigil_shared::nostr::event::{Kind, Tags};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::pow::Miner;

const INPUTS: &str = include_str!("../web/inputs.json");
/// Nonces per search step: long enough to hide the clock read, short next to a second.
const CHUNK: u64 = 1 << 14;

#[derive(Debug, Parser)]
#[command(about = "Native anchors for the browser benchmarks")]
struct Args {
    /// Timed Argon2id runs per parameter set, after the warm-ups.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    #[arg(long, default_value_t = 3)]
    warmups: usize,
    /// Seconds of mining per difficulty.
    #[arg(long, default_value_t = 3.0)]
    pow_seconds: f64,
}

#[derive(Debug, Deserialize)]
struct Inputs {
    argon2: Argon2Inputs,
    pow: PowInputs,
}

#[derive(Debug, Deserialize)]
struct Argon2Inputs {
    password: String,
    salt_hex: String,
    hash_len: usize,
    params: Vec<Cost>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
struct Cost {
    m_kib: u32,
    t: u32,
    p: u32,
}

#[derive(Debug, Deserialize)]
struct PowInputs {
    event: PowEvent,
    difficulties: Vec<u8>,
}

#[derive(Debug, Deserialize)]
struct PowEvent {
    pubkey: PublicKey,
    created_at: u64,
    kind: u16,
    tags: Tags,
    content: String,
}

#[derive(Debug, Serialize)]
struct Argon2Figure {
    #[serde(flatten)]
    cost: Cost,
    median_ms: f64,
    runs_ms: Vec<f64>,
    hash_hex: String,
}

#[derive(Debug, Serialize)]
struct PowFigure {
    difficulty: u8,
    hashes_per_second: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    argon2: Vec<Argon2Figure>,
    pow: Vec<PowFigure>,
}

#[allow(clippy::print_stdout)] // the JSON report is the program's output
fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => fail(&e.to_string()),
        },
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("sigil-native: {message}");
    std::process::exit(1);
}

fn run(args: &Args) -> Result<Report, String> {
    let inputs: Inputs = serde_json::from_str(INPUTS).map_err(|e| format!("inputs.json: {e}"))?;
    let salt = hex::decode(&inputs.argon2.salt_hex).map_err(|e| format!("salt_hex: {e}"))?;
    let mut argon2 = Vec::new();
    for &cost in &inputs.argon2.params {
        let mut out = vec![0u8; inputs.argon2.hash_len];
        let mut runs = Vec::with_capacity(args.runs);
        for i in 0..args.warmups + args.runs {
            let started = Instant::now();
            argon2id::hash(
                inputs.argon2.password.as_bytes(),
                &salt,
                cost.m_kib,
                cost.t,
                cost.p,
                &mut out,
                &ThisThread,
            )
            .map_err(|e| e.to_string())?;
            if i >= args.warmups {
                runs.push(started.elapsed());
            }
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        argon2.push(Argon2Figure {
            cost,
            median_ms: median(&mut runs).map_or(0.0, ms),
            runs_ms: runs.iter().copied().map(ms).collect(),
            hash_hex: hex::encode(&out),
        });
    }

    let event = &inputs.pow.event;
    let mut pow = Vec::new();
    for &difficulty in &inputs.pow.difficulties {
        let miner = Miner::new(
            &event.pubkey,
            Timestamp::from(event.created_at),
            Kind::from(event.kind),
            &event.tags,
            &event.content,
            difficulty,
        )
        .map_err(|e| e.to_string())?;
        let hashes_per_second = hash_rate(&miner, Duration::from_secs_f64(args.pow_seconds));
        pow.push(PowFigure {
            difficulty,
            hashes_per_second,
        });
    }
    Ok(Report { argon2, pow })
}

/// Hashes per second the miner tries on this thread over `span`, finds included: after a find it
/// goes on from the next nonce, as the browser benchmark does.
fn hash_rate(miner: &Miner, span: Duration) -> f64 {
    let started = Instant::now();
    let (mut next, mut hashes) = (0u64, 0u64);
    while started.elapsed() < span {
        match miner.search(next, CHUNK) {
            Some((nonce, _)) => {
                hashes += nonce - next + 1;
                next = nonce + 1;
            }
            None => {
                hashes += CHUNK;
                next += CHUNK;
            }
        }
    }
    hashes as f64 / started.elapsed().as_secs_f64()
}
