//! Measurement helpers kept apart from the I/O of the binaries: medians, latency percentiles and the
//! process readings from `/proc`, so they can be tested natively.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
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
}
