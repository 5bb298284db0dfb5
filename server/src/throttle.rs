//! Per-address limits on sending codes and on wrong codes. Behind Tor every client is 127.0.0.1,
//! so the address (as its keyed hash) is the unit, never the IP.

use crate::config::CodeLimits;
pub use crate::store::throttles::Counters;

const HOUR: i64 = 3600;

/// Why a request is held back, and for how many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooManyCodes {
        retry_after: u64,
    },
    TooManyFailures {
        retry_after: u64,
    },
    /// The last wrong code was too recent: each failure doubles the wait before the next try.
    SlowDown {
        retry_after: u64,
    },
}

fn remaining(until: i64, now: i64) -> u64 {
    u64::try_from(until - now).unwrap_or(0).max(1)
}

impl Counters {
    pub fn fresh(now: i64) -> Self {
        Self {
            window_start: now,
            codes_sent: 0,
            last_sent_at: 0,
            failures: 0,
            failure_window_start: now,
            last_failure_at: 0,
        }
    }

    /// Seconds to wait after the latest wrong code: none after the first (typos happen), then
    /// `base`, twice that, and so on, up to five minutes.
    pub fn failure_delay(&self, limits: &CodeLimits) -> i64 {
        let base = i64::try_from(limits.failure_delay.as_secs()).unwrap_or(0);
        match self.failures {
            n if n < 2 || base == 0 => 0,
            n => base.saturating_mul(1 << (n - 2).min(16)).min(300),
        }
    }

    /// Rolls hourly windows forward; call before any check.
    pub fn at(mut self, now: i64) -> Self {
        if now - self.window_start >= HOUR {
            self.window_start = now;
            self.codes_sent = 0;
        }
        if now - self.failure_window_start >= HOUR {
            self.failure_window_start = now;
            self.failures = 0;
        }
        self
    }

    pub fn check_failures(&self, limits: &CodeLimits, now: i64) -> Result<(), Refusal> {
        if self.failures >= i64::from(limits.failures_per_hour) {
            return Err(Refusal::TooManyFailures {
                retry_after: remaining(self.failure_window_start + HOUR, now),
            });
        }
        Ok(())
    }

    /// May a code be tried now? Past the hourly cap, and the growing delay after failures.
    pub fn check_attempt(&self, limits: &CodeLimits, now: i64) -> Result<(), Refusal> {
        self.check_failures(limits, now)?;
        let ready_at = self.last_failure_at + self.failure_delay(limits);
        if now < ready_at {
            return Err(Refusal::SlowDown {
                retry_after: remaining(ready_at, now),
            });
        }
        Ok(())
    }

    /// May another code be sent now? A locked-out address gets no new code either: a new code
    /// must not reset the failure count.
    pub fn check_send(&self, limits: &CodeLimits, now: i64) -> Result<(), Refusal> {
        self.check_failures(limits, now)?;
        let gap = i64::try_from(limits.resend_gap.as_secs()).unwrap_or(i64::MAX);
        if self.codes_sent > 0 && now - self.last_sent_at < gap {
            return Err(Refusal::TooManyCodes {
                retry_after: remaining(self.last_sent_at + gap, now),
            });
        }
        if self.codes_sent >= i64::from(limits.codes_per_hour) {
            return Err(Refusal::TooManyCodes {
                retry_after: remaining(self.window_start + HOUR, now),
            });
        }
        Ok(())
    }

    pub fn record_send(&mut self, now: i64) {
        self.codes_sent += 1;
        self.last_sent_at = now;
    }

    pub fn record_failure(&mut self, now: i64) {
        self.failures += 1;
        self.last_failure_at = now;
    }

    pub fn record_success(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: CodeLimits = CodeLimits {
        ttl: Duration::from_secs(600),
        attempts_per_session: 5,
        failures_per_hour: 6,
        codes_per_hour: 3,
        resend_gap: Duration::from_secs(60),
        failure_delay: Duration::from_secs(2),
    };

    #[test]
    fn enforces_the_resend_gap_then_the_hourly_cap() {
        let mut c = Counters::fresh(1000);
        assert_eq!(c.check_send(&LIMITS, 1000), Ok(()));
        c.record_send(1000);
        assert_eq!(
            c.check_send(&LIMITS, 1030),
            Err(Refusal::TooManyCodes { retry_after: 30 })
        );
        c.record_send(1060);
        c.record_send(1120);
        assert_eq!(
            c.check_send(&LIMITS, 1200),
            Err(Refusal::TooManyCodes { retry_after: 3400 })
        );
        let c = c.at(1000 + HOUR);
        assert_eq!(c.check_send(&LIMITS, 1000 + HOUR), Ok(()));
    }

    #[test]
    fn failures_lock_out_sending_and_verifying_until_the_window_ends() {
        let mut c = Counters::fresh(0);
        for _ in 0..6 {
            assert_eq!(c.check_failures(&LIMITS, 10), Ok(()));
            c.record_failure(10);
        }
        assert_eq!(
            c.check_failures(&LIMITS, 10),
            Err(Refusal::TooManyFailures { retry_after: 3590 })
        );
        assert_eq!(
            c.check_send(&LIMITS, 10),
            Err(Refusal::TooManyFailures { retry_after: 3590 })
        );
        assert_eq!(c.at(HOUR).check_failures(&LIMITS, HOUR), Ok(()));
    }

    #[test]
    fn each_wrong_code_doubles_the_wait_before_the_next_try() {
        let mut c = Counters::fresh(0);
        c.record_failure(100);
        assert_eq!(
            c.check_attempt(&LIMITS, 100),
            Ok(()),
            "a first typo costs nothing"
        );
        c.record_failure(100);
        assert_eq!(
            c.check_attempt(&LIMITS, 101),
            Err(Refusal::SlowDown { retry_after: 1 })
        );
        assert_eq!(c.check_attempt(&LIMITS, 102), Ok(()));
        c.record_failure(102);
        assert_eq!(
            c.check_attempt(&LIMITS, 102),
            Err(Refusal::SlowDown { retry_after: 4 })
        );
        c.record_failure(106);
        assert_eq!(c.failure_delay(&LIMITS), 8);
        let unlimited = CodeLimits {
            failure_delay: Duration::ZERO,
            ..LIMITS
        };
        assert_eq!(c.check_attempt(&unlimited, 106), Ok(()));
    }
}
