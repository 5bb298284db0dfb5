//! Per-address limits on sending codes and on guessing them. Behind Tor every client is
//! 127.0.0.1, so the address (as its keyed hash) is the unit, never the IP.
//!
//! The limits are built so that knowing an address gives no power over its owner:
//! - Guessing is bounded by a budget, not by a lock: each wrong 6-digit code spends one unit of
//!   the address's budget (`code_guesses` units, one back every `code_guess_refill`). While the
//!   budget is empty, 6-digit codes stop working and new codes have 16 digits, which nobody can
//!   guess at any rate, so the owner, who reads the code from the email, still gets in.
//! - Sending never refuses the owner: a request within the resend gap shares the code already
//!   sent to that address (the one in the owner's inbox) instead of being turned away. The gap
//!   doubles with each code that goes unused, up to the code's lifetime, which bounds the mail
//!   an attacker can cause.
//! - Tagged variants (`name+tag@…`) also share one gap per mailbox, so they cannot multiply the
//!   mail an inbox receives; the untagged address has its own, so tags cannot starve it.

use crate::codes::CodeKind;
use crate::config::CodeLimits;
pub use crate::store::throttles::Throttle;

/// After this long without a code sent, the resend gap starts again from its base.
const QUIET: i64 = 3600;

/// Why a code is not sent, and for how many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The mailbox's tagged variants had a code too recently.
    TooManyCodes { retry_after: u64 },
}

/// What a code request for an address gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The code sent moments ago, still in the inbox: this session shares it, no new mail.
    Share {
        code_hash: Vec<u8>,
        kind: CodeKind,
        expires_at: i64,
        resend_after: u64,
    },
    /// A new code of this kind is sent.
    Send(CodeKind),
}

/// Why a code cannot be tried at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// A 6-digit code while the address's guessing budget is empty: a new (16-digit) code is
    /// needed.
    Budget,
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn remaining(until: i64, now: i64) -> u64 {
    u64::try_from(until - now).unwrap_or(0).max(1)
}

impl Throttle {
    /// An address never seen: a full budget, nothing sent.
    pub fn fresh(limits: &CodeLimits, now: i64) -> Self {
        Self {
            last_sent_at: 0,
            sends_unused: 0,
            budget_empty_at: now.saturating_sub(budget_span(limits)),
            wrong_since_success: 0,
            code_hash: None,
            code_long: 0,
            code_expires_at: 0,
        }
    }

    /// Whole units of guessing budget left: the budget refills continuously (a sliding window,
    /// not fixed hours) from the moment it was last empty.
    pub fn budget(&self, limits: &CodeLimits, now: i64) -> i64 {
        let refill = secs(limits.guess_refill).max(1);
        ((now - self.budget_empty_at) / refill).clamp(0, i64::from(limits.guesses))
    }

    fn spend(&mut self, limits: &CodeLimits, now: i64) {
        // Budget beyond the cap is not banked.
        self.budget_empty_at = self
            .budget_empty_at
            .max(now.saturating_sub(budget_span(limits)))
            .saturating_add(secs(limits.guess_refill).max(1));
    }

    /// Seconds between codes to this address: none before the first, then the base gap,
    /// doubling with each code that went unused, up to the code's lifetime.
    pub fn gap(&self, limits: &CodeLimits, now: i64) -> i64 {
        if self.sends_unused == 0 || now - self.last_sent_at >= QUIET {
            return 0;
        }
        let doublings = u32::try_from((self.sends_unused - 1).clamp(0, 16)).unwrap_or(16);
        secs(limits.resend_gap)
            .saturating_mul(1 << doublings)
            .min(secs(limits.ttl))
    }

    fn next_send_at(&self, limits: &CodeLimits, now: i64) -> i64 {
        self.last_sent_at + self.gap(limits, now)
    }

    /// Whether a code of `kind` may be tried now.
    pub fn check_attempt(
        &self,
        kind: CodeKind,
        limits: &CodeLimits,
        now: i64,
    ) -> Result<(), Spent> {
        match kind {
            CodeKind::Short if self.budget(limits, now) < 1 => Err(Spent::Budget),
            _ => Ok(()),
        }
    }

    /// What a code request for this address gets: the code just sent, while the gap runs and it
    /// can still be used, or a new one.
    pub fn plan(&self, limits: &CodeLimits, now: i64) -> Plan {
        if let Some(code_hash) = &self.code_hash {
            let kind = CodeKind::from_flag(self.code_long);
            let next_send_at = self.next_send_at(limits, now);
            if now < self.code_expires_at
                && now < next_send_at
                && self.check_attempt(kind, limits, now).is_ok()
            {
                return Plan::Share {
                    code_hash: code_hash.clone(),
                    kind,
                    expires_at: self.code_expires_at,
                    resend_after: remaining(next_send_at, now),
                };
            }
        }
        Plan::Send(if self.budget(limits, now) >= 1 {
            CodeKind::Short
        } else {
            CodeKind::Long
        })
    }

    /// For a mailbox's tagged variants: may another code go out now?
    pub fn check_send(&self, limits: &CodeLimits, now: i64) -> Result<(), Refusal> {
        let next = self.next_send_at(limits, now);
        if now < next {
            return Err(Refusal::TooManyCodes {
                retry_after: remaining(next, now),
            });
        }
        Ok(())
    }

    pub fn record_send(&mut self, now: i64) {
        if now - self.last_sent_at >= QUIET {
            self.sends_unused = 0;
        }
        self.sends_unused += 1;
        self.last_sent_at = now;
    }

    /// The code just sent becomes the one later requests share.
    pub fn record_code(&mut self, code_hash: &[u8], kind: CodeKind, expires_at: i64) {
        self.code_hash = Some(code_hash.to_vec());
        self.code_long = kind.flag();
        self.code_expires_at = expires_at;
    }

    pub fn record_wrong(&mut self, kind: CodeKind, limits: &CodeLimits, now: i64) {
        self.wrong_since_success += 1;
        if kind == CodeKind::Short {
            self.spend(limits, now);
        }
    }

    /// The owner got in: the report of wrong codes starts again, the gap is back at its base,
    /// and the used code is no longer shared.
    pub fn record_success(&mut self, code_hash: &[u8]) {
        self.wrong_since_success = 0;
        self.sends_unused = 0;
        if self.code_hash.as_deref() == Some(code_hash) {
            self.code_hash = None;
        }
    }
}

fn budget_span(limits: &CodeLimits) -> i64 {
    secs(limits.guess_refill)
        .max(1)
        .saturating_mul(i64::from(limits.guesses))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: CodeLimits = CodeLimits {
        ttl: Duration::from_secs(600),
        attempts_per_session: 5,
        resend_gap: Duration::from_secs(60),
        guesses: 10,
        guess_refill: Duration::from_secs(3600),
    };
    const YEAR: i64 = 365 * 24 * 3600;

    fn send(t: &mut Throttle, kind: CodeKind, now: i64) {
        t.record_send(now);
        t.record_code(&[kind.flag() as u8; 32], kind, now + 600);
    }

    #[test]
    fn a_request_within_the_gap_shares_the_code_just_sent() {
        let mut t = Throttle::fresh(&LIMITS, 1000);
        assert_eq!(t.plan(&LIMITS, 1000), Plan::Send(CodeKind::Short));
        send(&mut t, CodeKind::Short, 1000);
        let Plan::Share {
            expires_at,
            resend_after,
            ..
        } = t.plan(&LIMITS, 1030)
        else {
            panic!("shares")
        };
        assert_eq!((expires_at, resend_after), (1600, 30));
        assert_eq!(t.plan(&LIMITS, 1060), Plan::Send(CodeKind::Short));
        // Each unused code doubles the gap, up to the code's lifetime, never longer.
        let mut now = 1060;
        for expected in [120, 240, 480, 600, 600] {
            send(&mut t, CodeKind::Short, now);
            assert_eq!(t.gap(&LIMITS, now), expected);
            now += expected;
        }
        // A success, or an hour of quiet, starts it again.
        let hash = t.code_hash.clone().expect("code");
        t.record_success(&hash);
        assert_eq!(t.gap(&LIMITS, now), 0);
        assert_eq!(t.code_hash, None, "a used code is not shared");
    }

    #[test]
    fn wrong_guesses_spend_the_budget_and_it_refills_by_the_second() {
        let mut t = Throttle::fresh(&LIMITS, 0);
        assert_eq!(t.budget(&LIMITS, 0), 10);
        for _ in 0..10 {
            assert_eq!(t.check_attempt(CodeKind::Short, &LIMITS, 5), Ok(()));
            t.record_wrong(CodeKind::Short, &LIMITS, 5);
        }
        assert_eq!(
            t.check_attempt(CodeKind::Short, &LIMITS, 5),
            Err(Spent::Budget)
        );
        assert_eq!(t.check_attempt(CodeKind::Long, &LIMITS, 5), Ok(()));
        t.record_wrong(CodeKind::Long, &LIMITS, 5);
        assert_eq!(t.wrong_since_success, 11, "every wrong code is reported");
        assert_eq!(t.plan(&LIMITS, 5), Plan::Send(CodeKind::Long));
        // One unit back an hour after the last spend, not at the top of some hour.
        assert_eq!(t.budget(&LIMITS, 3604), 0);
        assert_eq!(t.budget(&LIMITS, 3605), 1);
        assert_eq!(t.budget(&LIMITS, 100 * 3600), 10, "never above the cap");
    }

    #[test]
    fn a_short_code_whose_budget_is_spent_is_not_shared() {
        let mut t = Throttle::fresh(&LIMITS, 0);
        send(&mut t, CodeKind::Short, 0);
        for _ in 0..10 {
            t.record_wrong(CodeKind::Short, &LIMITS, 1);
        }
        // The gap still runs, but the owner would be handed a dead code: a new one goes out.
        assert_eq!(t.plan(&LIMITS, 2), Plan::Send(CodeKind::Long));
        send(&mut t, CodeKind::Long, 2);
        assert!(matches!(
            t.plan(&LIMITS, 3),
            Plan::Share {
                kind: CodeKind::Long,
                ..
            }
        ));
    }

    #[test]
    fn tagged_variants_wait_for_the_mailbox_gap() {
        let mut mailbox = Throttle::fresh(&LIMITS, 0);
        assert_eq!(mailbox.check_send(&LIMITS, 0), Ok(()));
        mailbox.record_send(0);
        assert_eq!(
            mailbox.check_send(&LIMITS, 20),
            Err(Refusal::TooManyCodes { retry_after: 40 })
        );
        assert_eq!(mailbox.check_send(&LIMITS, 60), Ok(()));
    }

    /// Issue 25 §3's bound: an attacker who does nothing but guess, as fast as the server lets
    /// them, for a year. Every 6-digit guess the server compares is counted; 16-digit guesses are
    /// bounded by the server's throughput in SECURITY.md.
    #[test]
    fn a_year_of_guessing_stays_under_one_percent() {
        let mut t = Throttle::fresh(&LIMITS, 0);
        let mut short_guesses: i64 = 0;
        let mut now = 0;
        while now < YEAR {
            let kind = match t.plan(&LIMITS, now) {
                Plan::Share { kind, .. } => kind,
                Plan::Send(kind) => {
                    send(&mut t, kind, now);
                    kind
                }
            };
            // Guess until the server stops comparing this code.
            while kind == CodeKind::Short && t.check_attempt(kind, &LIMITS, now).is_ok() {
                short_guesses += 1;
                t.record_wrong(kind, &LIMITS, now);
            }
            // Any step shorter than the refill finds every unit as soon as it is back.
            now += 5;
        }
        let bound = i64::from(LIMITS.guesses) + YEAR / 3600;
        assert!(short_guesses <= bound, "{short_guesses} > {bound}");
        // Each 6-digit guess wins with probability at most 1 in 10^6.
        let chance = short_guesses as f64 / 1e6;
        assert!(chance < 0.009, "{chance}");
        assert!(short_guesses > 8_000, "the owner's budget is really there");
    }
}
