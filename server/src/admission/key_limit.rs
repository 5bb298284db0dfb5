//! The per-key limit: how many requests one signing key may make in a window. Keys are free to
//! make, so this bounds how hard one client hammers a session or an account, not how many
//! clients there are; proof of work and the per-address limits do that.

use sigil_shared::error::{ErrorBody, ErrorCode};

use super::Admitted;

/// Requests are counted in windows of this many seconds.
pub const WINDOW_SECS: i64 = 60;

/// At most `per_window` requests per key in each window of [`WINDOW_SECS`] (the
/// `requests-per-key-per-minute` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLimit {
    pub per_window: u32,
}

impl KeyLimit {
    /// The refusal for a request its admission counted past the limit, with how long to wait.
    pub fn check(&self, admitted: &Admitted, now: i64) -> Result<(), ErrorBody> {
        if admitted.key_requests <= i64::from(self.per_window) {
            return Ok(());
        }
        let retry_after = u64::try_from(admitted.key_window_start + WINDOW_SECS - now).unwrap_or(1);
        Err(ErrorBody::new(ErrorCode::KeyRateLimited).retry_after(retry_after.max(1)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn admitted(key_requests: i64) -> Admitted {
        Admitted {
            fresh: true,
            key_requests,
            key_window_start: 1_000,
        }
    }

    #[test]
    fn the_request_past_the_limit_waits_for_the_next_window() {
        let limit = KeyLimit { per_window: 3 };
        assert!(limit.check(&admitted(3), 1_010).is_ok());
        let refused = limit.check(&admitted(4), 1_010).unwrap_err();
        assert_eq!(refused.code, ErrorCode::KeyRateLimited);
        assert_eq!(refused.retry_after, Some(50));
        // A clock past the window's end still waits a second, never zero.
        assert_eq!(
            limit.check(&admitted(4), 2_000).unwrap_err().retry_after,
            Some(1)
        );
    }
}
