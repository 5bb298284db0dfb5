//! Six-digit email codes: generated from the OS CSPRNG, compared in constant time.

use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const CODE_DIGITS: usize = 6;

/// Largest multiple of 10^6 below 2^32: sampling under it keeps every code equally likely.
const UNBIASED_LIMIT: u32 = 4_294_000_000;

/// A fresh code, e.g. "042917". Fails only if the OS has no randomness to give.
pub fn generate() -> Result<Zeroizing<String>, rand::rand_core::OsError> {
    loop {
        let n = OsRng.try_next_u32()?;
        if n < UNBIASED_LIMIT {
            return Ok(Zeroizing::new(format!("{:06}", n % 1_000_000)));
        }
    }
}

/// Whether `input` has the shape of a code at all.
pub fn is_well_formed(input: &str) -> bool {
    input.len() == CODE_DIGITS && input.bytes().all(|b| b.is_ascii_digit())
}

pub fn hashes_match(stored: &[u8], presented: &[u8; 32]) -> bool {
    stored.ct_eq(presented.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: Vec<_> = (0..50).map(|_| generate().expect("rng")).collect();
        assert!(codes.iter().all(|c| is_well_formed(c)));
        let distinct: std::collections::HashSet<&str> = codes.iter().map(|c| c.as_str()).collect();
        assert!(
            distinct.len() > 40,
            "50 codes gave only {} distinct values",
            distinct.len()
        );
    }

    #[test]
    fn shape_check() {
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(!is_well_formed(bad), "{bad}");
        }
        assert!(is_well_formed("000000"));
    }
}
