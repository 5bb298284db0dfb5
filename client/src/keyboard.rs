//! The on-screen keyboard's layout: every printable ASCII character, in a fresh random order each
//! time it opens, so the position of a click says nothing about the character it typed.

use rand::seq::SliceRandom;

/// The characters of one layer of the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Lower-case letters and digits.
    Lower,
    /// Upper-case letters and symbols.
    Upper,
}

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

impl Layer {
    pub fn characters(self) -> &'static str {
        match self {
            Self::Lower => LOWER,
            Self::Upper => UPPER,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Lower => Self::Upper,
            Self::Upper => Self::Lower,
        }
    }
}

/// The keys of `layer` in an order drawn from the OS random generator.
pub fn shuffled(layer: Layer) -> Vec<char> {
    let mut keys: Vec<char> = layer.characters().chars().collect();
    keys.shuffle(&mut rand::rng());
    keys
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_printable_ascii_character_is_on_exactly_one_layer() {
        let lower: BTreeSet<char> = LOWER.chars().collect();
        let upper: BTreeSet<char> = UPPER.chars().collect();
        assert_eq!(lower.len(), LOWER.len(), "no duplicates");
        assert_eq!(upper.len(), UPPER.len(), "no duplicates");
        assert!(lower.is_disjoint(&upper));
        let all: BTreeSet<char> = lower.union(&upper).copied().collect();
        // Space has its own key.
        let printable: BTreeSet<char> = ('!'..='~').collect();
        assert_eq!(all, printable);
    }

    #[test]
    fn layouts_are_permutations_that_change_between_openings() {
        let first = shuffled(Layer::Lower);
        let mut sorted = first.clone();
        sorted.sort_unstable();
        let mut expected: Vec<char> = LOWER.chars().collect();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        // 36! orders: ten identical draws in a row would mean no shuffling at all.
        assert!((0..10).any(|_| shuffled(Layer::Lower) != first));
    }
}
