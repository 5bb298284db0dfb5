//! Email codes: generated from the OS CSPRNG, compared in constant time. An address gets 6-digit
//! codes while its guessing budget lasts and 16-digit codes once wrong guesses have spent it
//! (`throttle`), so an attacker can neither guess a code nor lock the owner out.

use rand::TryRngCore;
use rand::rngs::OsRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// How long a code is, which decides how its wrong guesses are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// Six digits: each wrong guess spends the address's budget.
    Short,
    /// Sixteen digits, sent while the budget is spent: guessing one is hopeless at any rate.
    Long,
}

impl CodeKind {
    pub fn digits(self) -> usize {
        match self {
            Self::Short => 6,
            Self::Long => 16,
        }
    }

    /// As stored: 0 or 1, like the store's other flags.
    pub fn from_flag(long: i64) -> Self {
        if long == 0 { Self::Short } else { Self::Long }
    }

    pub fn flag(self) -> i64 {
        i64::from(self == Self::Long)
    }
}

/// Largest multiple of 10^6 below 2^32: sampling under it keeps every group equally likely.
const UNBIASED_LIMIT: u32 = 4_294_000_000;

/// Six uniformly random digits.
fn six_digits() -> Result<u32, rand::rand_core::OsError> {
    loop {
        let n = OsRng.try_next_u32()?;
        if n < UNBIASED_LIMIT {
            return Ok(n % 1_000_000);
        }
    }
}

/// A fresh code of `kind`, digits only (e.g. "042917"). Fails only if the OS has no randomness.
pub fn generate(kind: CodeKind) -> Result<Zeroizing<String>, rand::rand_core::OsError> {
    let mut code = Zeroizing::new(String::with_capacity(18));
    while code.len() < kind.digits() {
        code.push_str(&format!("{:06}", six_digits()?));
    }
    code.truncate(kind.digits());
    Ok(code)
}

/// The code as the email shows it: long codes in groups of four, easier to copy by eye.
pub fn display(code: &str) -> Zeroizing<String> {
    if code.len() <= 6 {
        return Zeroizing::new(code.to_owned());
    }
    let groups: Vec<&str> = code
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    Zeroizing::new(groups.join(" "))
}

/// Whether `input` has the shape of a code of `kind` at all.
pub fn is_well_formed(input: &str, kind: CodeKind) -> bool {
    input.len() == kind.digits() && input.bytes().all(|b| b.is_ascii_digit())
}

pub fn hashes_match(stored: &[u8], presented: &[u8; 32]) -> bool {
    stored.ct_eq(presented.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_length_and_vary() {
        for kind in [CodeKind::Short, CodeKind::Long] {
            let codes: Vec<_> = (0..50).map(|_| generate(kind).expect("rng")).collect();
            assert!(codes.iter().all(|c| is_well_formed(c, kind)));
            let distinct: std::collections::HashSet<&str> =
                codes.iter().map(|c| c.as_str()).collect();
            assert!(distinct.len() > 40, "{kind:?}: {} distinct", distinct.len());
        }
    }

    #[test]
    fn shape_check() {
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(!is_well_formed(bad, CodeKind::Short), "{bad}");
        }
        assert!(is_well_formed("000000", CodeKind::Short));
        assert!(!is_well_formed("000000", CodeKind::Long));
        assert!(is_well_formed("0123456789012345", CodeKind::Long));
    }

    #[test]
    fn long_codes_are_shown_in_groups() {
        assert_eq!(display("042917").as_str(), "042917");
        assert_eq!(display("0123456789012345").as_str(), "0123 4567 8901 2345");
    }
}
