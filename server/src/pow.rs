//! Adaptive proof of work: while verified requests come faster than the calm rate, the required
//! difficulty rises one bit per doubling of the rate, so the work a flood must do grows with the
//! flood while ordinary use pays only the base. The level is announced in the well-known
//! document; a client refused for too little work fetches it again and mines once more.
//!
//! Each process measures its own load; behind a load balancer each announces its own level.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

/// How often the level is recomputed.
pub const TICK: Duration = Duration::from_secs(2);

/// Weight of the newest measurement in the smoothed rate: a burst raises the level within a
/// tick or two, and the level falls back within a few ticks once it ends.
const SMOOTHING: f64 = 0.5;

/// The required difficulty for a smoothed `rate` of verified requests per second: `base` up to
/// `calm_rate`, then one more bit per doubling, never above `max`.
pub fn difficulty_for(base: u8, max: u8, calm_rate: f64, rate: f64) -> u8 {
    if max <= base || rate <= calm_rate || calm_rate <= 0.0 {
        return base;
    }
    let extra = (rate / calm_rate).log2().ceil();
    // `extra` is positive and finite here; the clamp keeps it inside u8.
    let extra = extra.clamp(0.0, f64::from(max - base)) as u8;
    base + extra
}

/// The live level for one process.
#[derive(Debug)]
pub struct PowLevel {
    base: u8,
    max: u8,
    calm_rate: f64,
    current: AtomicU8,
    /// Verified requests since the last tick.
    counted: AtomicU64,
    /// Smoothed rate, as f64 bits; only the ticking task writes it.
    rate_bits: AtomicU64,
}

impl PowLevel {
    /// `max == base` turns adaptation off.
    pub fn new(base: u8, max: u8, calm_rate: u32) -> Self {
        Self {
            base,
            max: max.max(base),
            calm_rate: f64::from(calm_rate),
            current: AtomicU8::new(base),
            counted: AtomicU64::new(0),
            rate_bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn is_adaptive(&self) -> bool {
        self.max > self.base
    }

    /// The difficulty a request must meet now.
    pub fn current(&self) -> u8 {
        self.current.load(Ordering::Relaxed)
    }

    /// Counts one request that passed every envelope check.
    pub fn count(&self) {
        self.counted.fetch_add(1, Ordering::Relaxed);
    }

    /// Folds the requests counted over `elapsed` into the rate and sets the new level.
    pub fn tick(&self, elapsed: Duration) {
        let requests = self.counted.swap(0, Ordering::Relaxed) as f64;
        let measured = requests / elapsed.as_secs_f64().max(0.001);
        let previous = f64::from_bits(self.rate_bits.load(Ordering::Relaxed));
        let rate = SMOOTHING * measured + (1.0 - SMOOTHING) * previous;
        self.rate_bits.store(rate.to_bits(), Ordering::Relaxed);
        let level = difficulty_for(self.base, self.max, self.calm_rate, rate);
        let before = self.current.swap(level, Ordering::Relaxed);
        if before != level {
            tracing::info!(
                difficulty = level,
                requests_per_second = rate.round(),
                "proof of work level changed"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_holds_up_to_the_calm_rate_then_one_bit_per_doubling() {
        assert_eq!(difficulty_for(16, 22, 50.0, 0.0), 16);
        assert_eq!(difficulty_for(16, 22, 50.0, 50.0), 16);
        assert_eq!(difficulty_for(16, 22, 50.0, 51.0), 17);
        assert_eq!(difficulty_for(16, 22, 50.0, 100.0), 17);
        assert_eq!(difficulty_for(16, 22, 50.0, 101.0), 18);
        assert_eq!(difficulty_for(16, 22, 50.0, 400.0), 19);
        assert_eq!(difficulty_for(16, 22, 50.0, 1e12), 22, "capped at max");
        assert_eq!(
            difficulty_for(16, 16, 50.0, 1e12),
            16,
            "off when max == base"
        );
        assert_eq!(difficulty_for(16, 22, 50.0, f64::INFINITY), 22);
    }

    #[test]
    fn a_burst_raises_the_level_and_quiet_brings_it_back() {
        let level = PowLevel::new(8, 12, 5);
        for _ in 0..40 {
            level.count();
        }
        // 20 requests/s measured, smoothed to 10: one doubling over 5/s.
        level.tick(Duration::from_secs(2));
        assert_eq!(level.current(), 9);
        for _ in 0..80 {
            level.count();
        }
        // 40/s measured, smoothed to 25: three bits.
        level.tick(Duration::from_secs(2));
        assert_eq!(level.current(), 11);
        for _ in 0..5 {
            level.tick(Duration::from_secs(2));
        }
        assert_eq!(level.current(), 8);
    }

    #[test]
    fn a_fixed_level_never_moves() {
        let level = PowLevel::new(16, 16, 1);
        for _ in 0..1000 {
            level.count();
        }
        level.tick(Duration::from_millis(10));
        assert_eq!(level.current(), 16);
        assert!(!level.is_adaptive());
    }
}
