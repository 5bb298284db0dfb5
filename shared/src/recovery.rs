//! The recovery code: 128 random bits the user writes down, which open the backup when the
//! password is lost.
//!
//! Written as 32 characters of the bech32 alphabet in eight groups of four, such as
//! `7xq2-d0mv-…`: 26 characters carry the 16 bytes, six are a bech32m checksum (BIP-350) over
//! them with the human-readable part `sigil`. The checksum detects every error of up to four
//! characters, so a typo is caught before any key is derived, and the alphabet has no `1`, `b`,
//! `i` or `o` to misread. Other implementations need only a bech32m decoder: the code without
//! its dashes, lowercased and prefixed with `sigil1`, is a bech32m string of the 16 bytes.
//!
//! The code is random and long enough that no slow key derivation is needed; it never leaves the
//! vault worker except to be shown to the user, once, in the emergency kit.

use zeroize::Zeroizing;

/// Bytes of randomness in a code.
pub const RECOVERY_CODE_BYTES: usize = 16;
/// Characters of a written code, without the dashes: 26 of data, six of checksum.
pub const RECOVERY_CODE_CHARS: usize = 32;
const DATA_CHARS: usize = 26;
const GROUP: usize = 4;
const ALPHABET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

// BIP-173's checksum, with BIP-350's constant (bech32m), over the human-readable part "sigil".
// A dozen lines here instead of the bech32 crate: its generic decoder cost the vault's
// WebAssembly 7 KiB. The known answers (made with BIP-350's reference code) check it.
const GENERATOR: [u32; 5] = [
    0x3b6a_57b2,
    0x2650_8e6d,
    0x1ea1_19fa,
    0x3d42_33dd,
    0x2a14_62b3,
];
const BECH32M: u32 = 0x2bc8_30a3;
const HRP: &[u8] = b"sigil";

fn polymod(symbols: &[u8]) -> u32 {
    let expanded_hrp = HRP
        .iter()
        .map(|c| c >> 5)
        .chain([0])
        .chain(HRP.iter().map(|c| c & 31));
    let mut check = 1u32;
    for value in expanded_hrp.chain(symbols.iter().copied()) {
        let top = check >> 25;
        check = ((check & 0x01ff_ffff) << 5) ^ u32::from(value);
        for (i, generator) in GENERATOR.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                check ^= generator;
            }
        }
    }
    check
}

/// A recovery code's 16 bytes: zeroized on drop, redacted in `Debug`.
pub struct RecoveryCode(Zeroizing<[u8; RECOVERY_CODE_BYTES]>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryCodeError {
    #[error("a recovery code has {RECOVERY_CODE_CHARS} letters and digits; this one has {0}")]
    Length(usize),
    /// The character is kept for tests; the message does not repeat part of a secret.
    #[error("recovery codes have no b, i or o and no 1: check the code for a misread character")]
    Character(char),
    #[error("this recovery code has a typo: check each group against the kit")]
    Typo,
}

impl RecoveryCode {
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    pub fn from_bytes(bytes: [u8; RECOVERY_CODE_BYTES]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; RECOVERY_CODE_BYTES] {
        &self.0
    }

    /// Reads a code as typed: any case, with or without dashes and spaces.
    pub fn parse(typed: &str) -> Result<Self, RecoveryCodeError> {
        let mut symbols = Zeroizing::new([0u8; RECOVERY_CODE_CHARS]);
        let mut count = 0;
        for c in typed.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let lower = c.to_ascii_lowercase() as u32;
            let value = ALPHABET
                .iter()
                .position(|a| u32::from(*a) == lower)
                .ok_or(RecoveryCodeError::Character(c))?;
            if let Some(slot) = symbols.get_mut(count) {
                *slot = value as u8;
            }
            count += 1;
        }
        if count != RECOVERY_CODE_CHARS {
            return Err(RecoveryCodeError::Length(count));
        }
        if polymod(symbols.as_slice()) != BECH32M {
            return Err(RecoveryCodeError::Typo);
        }
        // 26 symbols hold 130 bits: the 16 bytes, then two zero bits.
        let mut bytes = Zeroizing::new([0u8; RECOVERY_CODE_BYTES]);
        let (mut acc, mut bits, mut at) = (0u32, 0, 0);
        for symbol in &symbols[..DATA_CHARS] {
            acc = (acc << 5) | u32::from(*symbol);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes[at] = (acc >> bits) as u8;
                at += 1;
            }
        }
        if acc & ((1 << bits) - 1) != 0 {
            return Err(RecoveryCodeError::Typo);
        }
        Ok(Self(bytes))
    }

    /// The code as the user writes it: eight groups of four, joined by dashes.
    pub fn display(&self) -> Zeroizing<String> {
        let mut symbols = Zeroizing::new([0u8; RECOVERY_CODE_CHARS]);
        let (mut acc, mut bits, mut at) = (0u32, 0, 0);
        for byte in self.0.iter() {
            acc = (acc << 8) | u32::from(*byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                symbols[at] = ((acc >> bits) & 31) as u8;
                at += 1;
            }
        }
        symbols[at] = ((acc << (5 - bits)) & 31) as u8;
        // Over the data and six zero symbols, where the checksum goes.
        let check = polymod(symbols.as_slice()) ^ BECH32M;
        for i in 0..6 {
            symbols[DATA_CHARS + i] = ((check >> (5 * (5 - i))) & 31) as u8;
        }
        let mut shown = Zeroizing::new(String::with_capacity(RECOVERY_CODE_CHARS + 7));
        for (i, symbol) in symbols.iter().enumerate() {
            if i > 0 && i % GROUP == 0 {
                shown.push('-');
            }
            shown.push(char::from(ALPHABET[usize::from(*symbol)]));
        }
        shown
    }
}

crate::secret::redacted_debug!(RecoveryCode);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_eight_groups_of_four() {
        for _ in 0..100 {
            let code = RecoveryCode::generate();
            let shown = code.display();
            assert_eq!(shown.len(), 32 + 7);
            assert!(shown.split('-').all(|group| group.len() == 4));
            let read = RecoveryCode::parse(&shown).unwrap();
            assert_eq!(read.as_bytes(), code.as_bytes());
        }
    }

    #[test]
    fn reads_what_people_type() {
        let code = RecoveryCode::from_bytes([7; 16]);
        let shown = code.display();
        let variants = [
            shown.to_uppercase(),
            shown.replace('-', ""),
            shown.replace('-', " "),
            format!("  {}\n", shown.replace('-', " - ")),
        ];
        for typed in variants {
            assert_eq!(RecoveryCode::parse(&typed).unwrap().as_bytes(), &[7; 16]);
        }
    }

    /// Every change of one character, and every swap of two neighbours, is caught.
    #[test]
    fn catches_every_single_typo_and_swap() {
        let shown = RecoveryCode::generate().display().replace('-', "");
        let chars: Vec<char> = shown.chars().collect();
        for i in 0..chars.len() {
            for replacement in ALPHABET
                .iter()
                .map(|a| char::from(*a))
                .filter(|c| *c != chars[i])
            {
                let mut typo = chars.clone();
                typo[i] = replacement;
                let typo: String = typo.into_iter().collect();
                assert_eq!(
                    RecoveryCode::parse(&typo).err(),
                    Some(RecoveryCodeError::Typo)
                );
            }
            if i + 1 < chars.len() && chars[i] != chars[i + 1] {
                let mut swapped = chars.clone();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                assert_eq!(
                    RecoveryCode::parse(&swapped).err(),
                    Some(RecoveryCodeError::Typo)
                );
            }
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let shown = RecoveryCode::generate().display().to_string();
        assert_eq!(
            RecoveryCode::parse(&shown[..shown.len() - 1]).err(),
            Some(RecoveryCodeError::Length(31))
        );
        let with_o = format!("o{}", &shown[1..]);
        assert_eq!(
            RecoveryCode::parse(&with_o).err(),
            Some(RecoveryCodeError::Character('o'))
        );
        assert_eq!(
            RecoveryCode::parse("").err(),
            Some(RecoveryCodeError::Length(0))
        );
    }

    #[test]
    fn debug_output_never_shows_the_code() {
        let code = RecoveryCode::generate();
        assert_eq!(format!("{code:?}"), "RecoveryCode(<redacted>)");
    }
}
