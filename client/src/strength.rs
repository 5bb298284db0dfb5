//! Password strength, estimated as the number of guesses an attacker who knows how people pick
//! passwords would need. The model is zxcvbn's (Wheeler, USENIX Security 2016): split the password
//! into the cheapest sequence of patterns (common words and passwords, keyboard walks, sequences,
//! repeats, years and dates, or brute force) and multiply their guesses. The word lists load
//! separately (`www/strength-words.txt`), so the WebAssembly stays small; without them the
//! estimate still sees every other pattern.

use std::collections::HashMap;

/// Longer input is estimated on its first characters only: beyond this it is strong anyway,
/// and the work per keystroke stays bounded.
const MAX_CHARS: usize = 64;
/// A segment of more than this many characters is only ever brute force.
const MAX_PATTERN_CHARS: usize = 24;
/// zxcvbn's floor for one pattern, and the cost of each further pattern in a sequence.
const MIN_PATTERN_GUESSES: f64 = 50.0;
const MIN_GUESSES_PER_EXTRA_PATTERN: f64 = 10_000.0;

/// Ranked words: rank 1 is the most common. A word in several lists keeps its best rank.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    ranks: HashMap<String, u32>,
}

impl Dictionary {
    /// Reads `strength-words.txt`: `##` starts a list, `#` a comment, every other line is a word,
    /// most frequent first.
    pub fn parse(text: &str) -> Self {
        let mut ranks: HashMap<String, u32> = HashMap::new();
        let mut rank = 0u32;
        for line in text.lines().map(str::trim) {
            if line.starts_with("##") {
                rank = 0;
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            rank += 1;
            let best = ranks.entry(line.to_lowercase()).or_insert(rank);
            *best = (*best).min(rank);
        }
        Self { ranks }
    }

    pub fn len(&self) -> usize {
        self.ranks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranks.is_empty()
    }

    fn rank(&self, word: &str) -> Option<u32> {
        self.ranks.get(word).copied()
    }
}

/// The kind of pattern that made a password weak, for the advice shown with the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    CommonPassword,
    Word,
    PersonalInfo,
    KeyboardWalk,
    Sequence,
    Repeat,
    Date,
    TooShort,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// log10 of the guesses needed.
    pub guesses_log10: f64,
    /// zxcvbn's scale: 0 too guessable, 1 very guessable, 2 somewhat, 3 safely, 4 very unguessable.
    pub score: u8,
    /// The main reason it is weak, when the score is below 3.
    pub weakness: Option<Weakness>,
}

impl Estimate {
    pub fn label(&self) -> &'static str {
        ["Very weak", "Weak", "Fair", "Good", "Strong"][usize::from(self.score.min(4))]
    }

    /// One sentence of advice, or none for a good password.
    pub fn advice(&self) -> Option<&'static str> {
        Some(match self.weakness? {
            Weakness::CommonPassword => "This is one of the most common passwords.",
            Weakness::Word => "Single words are easy to guess: use several unrelated words.",
            Weakness::PersonalInfo => "Avoid your email address and names that go with it.",
            Weakness::KeyboardWalk => "Rows and patterns of keyboard keys are easy to guess.",
            Weakness::Sequence => "Sequences like abc or 6543 are easy to guess.",
            Weakness::Repeat => "Repeats like aaa or abcabc are easy to guess.",
            Weakness::Date => "Dates and years are easy to guess.",
            Weakness::TooShort => "Add another word or two; uncommon words are better.",
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Pattern {
    guesses_log10: f64,
    weakness: Option<Weakness>,
    /// The whole password is a listed common password.
    common_password: bool,
}

/// One cell of the split search: log10 guesses so far, where the last pattern starts, and it.
type Cell = (f64, usize, Pattern);

/// Estimates `password`. `personal` are words an attacker would try first for this user (the
/// email address's parts, the site's name).
pub fn estimate(password: &str, dictionary: &Dictionary, personal: &[&str]) -> Estimate {
    let chars: Vec<char> = password.chars().take(MAX_CHARS).collect();
    let n = chars.len();
    if n == 0 {
        return Estimate {
            guesses_log10: 0.0,
            score: 0,
            weakness: Some(Weakness::TooShort),
        };
    }
    let lower: Vec<char> = chars.iter().flat_map(|c| c.to_lowercase()).collect();
    // Lower-casing can change the length (rare letters); then match on the original.
    let lower = if lower.len() == n {
        lower
    } else {
        chars.clone()
    };
    let personal: Vec<String> = personal
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().count() >= 3)
        .collect();

    // best[j][m]: the fewest guesses (log10 of the product) covering chars[..j] with m patterns,
    // and the pattern that ended there.
    let mut best: Vec<Vec<Option<Cell>>> = vec![vec![None; n + 1]; n + 1];
    best[0][0] = Some((0.0, 0, brute_force(0)));
    for j in 1..=n {
        for i in 0..j {
            let segment = pattern(
                &chars[i..j],
                &lower[i..j],
                i == 0 && j == n,
                dictionary,
                &personal,
            );
            for m in 0..j {
                let Some((before, _, _)) = best[i][m] else {
                    continue;
                };
                let total = before + segment.guesses_log10;
                let slot = &mut best[j][m + 1];
                if slot.is_none_or(|(current, _, _)| total < current) {
                    *slot = Some((total, i, segment));
                }
            }
        }
    }
    // zxcvbn's total: m! × product + 10000^(m-1), so splitting into many small patterns costs.
    let (guesses_log10, patterns) = (1..=n)
        .filter_map(|m| best[n][m].map(|(product, _, _)| (m, product)))
        .map(|(m, product)| {
            let ordered = log10_factorial(m) + product;
            let extra = (m as f64 - 1.0) * MIN_GUESSES_PER_EXTRA_PATTERN.log10();
            (log10_sum(ordered, extra), m)
        })
        .fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });

    let score = match guesses_log10 {
        g if g < 3.0 => 0,
        g if g < 6.0 => 1,
        g if g < 8.0 => 2,
        g if g < 10.0 => 3,
        _ => 4,
    };
    let weakness = (score < 3).then(|| weakest(&best, n, patterns)).flatten();
    Estimate {
        guesses_log10,
        score,
        weakness: weakness.or((score < 3).then_some(Weakness::TooShort)),
    }
}

/// The advice-worthy pattern in the winning split: a common password first, else the pattern
/// that covers the most characters.
fn weakest(best: &[Vec<Option<Cell>>], n: usize, patterns: usize) -> Option<Weakness> {
    let (mut j, mut m) = (n, patterns);
    let mut found: Option<(usize, Pattern)> = None;
    while m > 0 {
        let (_, i, pattern) = best[j][m]?;
        if pattern.common_password {
            return Some(Weakness::CommonPassword);
        }
        if pattern.weakness.is_some() && found.is_none_or(|(len, _)| j - i > len) {
            found = Some((j - i, pattern));
        }
        j = i;
        m -= 1;
    }
    found.and_then(|(_, p)| p.weakness)
}

/// The cheapest way to guess one segment.
fn pattern(
    original: &[char],
    lower: &[char],
    whole: bool,
    dictionary: &Dictionary,
    personal: &[String],
) -> Pattern {
    let mut cheapest = brute_force(original.len());
    if original.len() > MAX_PATTERN_CHARS {
        return cheapest;
    }
    let mut consider = |guesses: f64, weakness: Weakness, common_password: bool| {
        let floor = if original.len() == 1 {
            10.0
        } else {
            MIN_PATTERN_GUESSES
        };
        let guesses_log10 = guesses.max(floor).log10();
        if guesses_log10 < cheapest.guesses_log10 {
            cheapest = Pattern {
                guesses_log10,
                weakness: Some(weakness),
                common_password,
            };
        }
    };
    let word: String = lower.iter().collect();
    let variants = case_variations(original);
    if personal.contains(&word) {
        consider(variants, Weakness::PersonalInfo, false);
    }
    let unleet = unleet(lower);
    for (candidate, factor) in [
        (word.clone(), 1.0),
        (unleet.clone(), 2.0),
        (word.chars().rev().collect::<String>(), 2.0),
    ] {
        if let Some(rank) = dictionary.rank(&candidate) {
            let common = whole && rank <= 10_000 && factor == 1.0;
            let weakness = if common {
                Weakness::CommonPassword
            } else {
                Weakness::Word
            };
            consider(f64::from(rank) * variants * factor, weakness, common);
        }
    }
    if let Some(guesses) = keyboard_walk(lower) {
        consider(guesses * variants, Weakness::KeyboardWalk, false);
    }
    if let Some(guesses) = sequence(lower) {
        consider(guesses, Weakness::Sequence, false);
    }
    if let Some(guesses) = repeat(lower) {
        consider(guesses, Weakness::Repeat, false);
    }
    if let Some(guesses) = date(lower) {
        consider(guesses, Weakness::Date, false);
    }
    cheapest
}

/// zxcvbn's brute force: ten guesses per character.
fn brute_force(len: usize) -> Pattern {
    Pattern {
        guesses_log10: len as f64,
        weakness: None,
        common_password: false,
    }
}

/// How many ways to capitalise a word like this one: 1 for all lower case, 2 for a capital first
/// or all capitals, else the number of ways to place that many capitals.
fn case_variations(original: &[char]) -> f64 {
    let upper = original.iter().filter(|c| c.is_uppercase()).count();
    let lower = original.iter().filter(|c| c.is_lowercase()).count();
    if upper == 0 {
        return 1.0;
    }
    if lower == 0 || (upper == 1 && original.first().is_some_and(|c| c.is_uppercase())) {
        return 2.0;
    }
    (1..=upper.min(lower))
        .map(|k| binomial(upper + lower, k))
        .sum::<f64>()
        .max(2.0)
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Undoes the usual letter-for-symbol swaps (p4ssw0rd → password).
fn unleet(lower: &[char]) -> String {
    lower
        .iter()
        .map(|c| match c {
            '4' | '@' => 'a',
            '8' => 'b',
            '(' | '{' | '[' | '<' => 'c',
            '3' => 'e',
            '6' | '9' => 'g',
            '1' | '!' | '|' => 'i',
            '0' => 'o',
            '$' | '5' => 's',
            '7' | '+' => 't',
            '2' => 'z',
            other => *other,
        })
        .collect()
}

/// Keys of a US keyboard by row, with each row's horizontal offset in key widths.
const KEYBOARD: [(&str, &str, f64); 4] = [
    ("`1234567890-=", "~!@#$%^&*()_+", 0.0),
    ("qwertyuiop[]\\", "QWERTYUIOP{}|", 1.5),
    ("asdfghjkl;'", "ASDFGHJKL:\"", 1.75),
    ("zxcvbnm,./", "ZXCVBNM<>?", 2.25),
];

fn key_position(c: char) -> Option<(f64, f64)> {
    KEYBOARD
        .iter()
        .enumerate()
        .find_map(|(row, (plain, shifted, offset))| {
            let column = plain
                .chars()
                .position(|k| k == c)
                .or_else(|| shifted.chars().position(|k| k == c))?;
            Some((row as f64, offset + column as f64))
        })
}

/// A walk over neighbouring keys (qwerty, 1qaz2wsx): guesses grow with every change of direction.
fn keyboard_walk(lower: &[char]) -> Option<f64> {
    if lower.len() < 3 {
        return None;
    }
    let positions: Vec<(f64, f64)> = lower
        .iter()
        .map(|c| key_position(*c))
        .collect::<Option<_>>()?;
    let mut turns = 0u32;
    let mut direction: Option<(i32, i32)> = None;
    for pair in positions.windows(2) {
        let (dr, dc) = (pair[1].0 - pair[0].0, pair[1].1 - pair[0].1);
        if dr.abs() > 1.0 || dc.abs() > 1.01 || (dr == 0.0 && dc == 0.0) {
            return None;
        }
        // Rows are staggered: any move to the row above or below counts by its side only.
        let step = if dr == 0.0 {
            (0, dc.signum() as i32)
        } else {
            (dr as i32, if dc >= 0.0 { 1 } else { -1 })
        };
        if direction != Some(step) {
            turns += 1;
            direction = Some(step);
        }
    }
    // 47 starting keys, about 8 neighbours to turn to, the walk's length.
    Some(47.0 * 8f64.powi(turns as i32 - 1) * lower.len() as f64)
}

/// abc, 7654, acegi: characters with one constant step.
fn sequence(lower: &[char]) -> Option<f64> {
    if lower.len() < 3 {
        return None;
    }
    let steps: Vec<i64> = lower
        .windows(2)
        .map(|p| i64::from(u32::from(p[1])) - i64::from(u32::from(p[0])))
        .collect();
    let step = steps[0];
    if step == 0 || step.abs() > 2 || steps.iter().any(|s| *s != step) {
        return None;
    }
    let first = lower[0];
    let start = if matches!(first, 'a' | 'z' | '0' | '1' | '9') {
        4.0
    } else if first.is_ascii_digit() {
        10.0
    } else {
        26.0
    };
    let direction = if step < 0 { 2.0 } else { 1.0 };
    Some(start * lower.len() as f64 * direction)
}

/// aaaa, abcabc: one unit said again and again.
fn repeat(lower: &[char]) -> Option<f64> {
    let n = lower.len();
    (1..=n / 2)
        .filter(|unit| n.is_multiple_of(*unit))
        .find(|unit| lower.chunks(*unit).all(|chunk| chunk == &lower[..*unit]))
        .map(|unit| 10f64.powi(unit as i32).min(1e6) * (n / unit) as f64)
}

/// Years (1900–2049) and six- or eight-digit dates.
fn date(lower: &[char]) -> Option<f64> {
    if !lower.iter().all(char::is_ascii_digit) {
        return None;
    }
    let digits: String = lower.iter().collect();
    let value: u32 = digits.parse().ok()?;
    match digits.len() {
        4 if (1900..2050).contains(&value) => Some(150.0),
        6 | 8 => Some(366.0 * 150.0),
        _ => None,
    }
}

fn log10_factorial(m: usize) -> f64 {
    (2..=m).map(|k| (k as f64).log10()).sum()
}

/// log10(10^a + 10^b).
fn log10_sum(a: f64, b: f64) -> f64 {
    let (high, low) = if a > b { (a, b) } else { (b, a) };
    high + (1.0 + 10f64.powf(low - high)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Dictionary {
        Dictionary::parse(
            "# test lists\n## passwords\n123456\npassword\nqwerty\ndragon\nmonkey\n\
             ## english\nthe\ncorrect\nhorse\nbattery\nstaple\nsummer\n",
        )
    }

    fn score(password: &str) -> u8 {
        estimate(password, &words(), &["alice", "example"]).score
    }

    #[test]
    fn common_passwords_and_patterns_score_zero() {
        for common in ["password", "123456", "qwerty", "Password", "p@ssw0rd"] {
            assert_eq!(score(common), 0, "{common}");
        }
        for pattern in ["aaaaaaaa", "abcdefgh", "1qaz2wsx", "19871987", "zxcvbnm,./"] {
            assert!(score(pattern) <= 1, "{pattern}");
        }
        let common = estimate("password", &words(), &[]);
        assert_eq!(common.weakness, Some(Weakness::CommonPassword));
        assert_eq!(
            estimate("qwertyuiop", &words(), &[]).weakness,
            Some(Weakness::KeyboardWalk)
        );
    }

    #[test]
    fn personal_words_count_as_guessable() {
        let personal = estimate("alice", &words(), &["alice"]);
        assert_eq!(personal.weakness, Some(Weakness::PersonalInfo));
        assert!(estimate("alice", &words(), &[]).guesses_log10 > personal.guesses_log10);
    }

    #[test]
    fn several_words_and_random_strings_are_strong() {
        assert_eq!(score("correct horse battery staple"), 4);
        assert_eq!(score("vT9#qL2!xW7m"), 4);
        assert!(score("summer2024") <= 2);
    }

    #[test]
    fn more_words_never_lower_the_estimate() {
        let mut last = 0.0;
        for password in ["correct", "correct horse", "correct horse battery"] {
            let guesses = estimate(password, &words(), &[]).guesses_log10;
            assert!(guesses > last, "{password}");
            last = guesses;
        }
    }

    #[test]
    fn the_word_list_keeps_each_words_best_rank() {
        let dictionary = Dictionary::parse("## a\nx1\ny1\n## b\ny1\n");
        assert_eq!(dictionary.rank("y1"), Some(1));
        assert_eq!(dictionary.rank("x1"), Some(1));
        assert_eq!(dictionary.len(), 2);
    }

    #[test]
    fn the_shipped_word_lists_catch_what_people_pick() {
        let shipped = Dictionary::parse(include_str!("../../www/strength-words.txt"));
        assert!(shipped.len() > 20_000);
        let check = |password: &str| estimate(password, &shipped, &["carol", "example"]);
        for weak in [
            "password1",
            "iloveyou",
            "Dragon2000",
            "monkey123",
            "carol1990",
        ] {
            assert!(check(weak).score <= 1, "{weak}: {:?}", check(weak));
        }
        assert!(
            check("P@ssw0rd2024!").score <= 2,
            "{:?}",
            check("P@ssw0rd2024!")
        );
        for strong in ["correct horse battery staple", "mauve-gazelle-pivot-71"] {
            assert!(check(strong).score >= 3, "{strong}: {:?}", check(strong));
        }
    }

    #[test]
    fn empty_and_very_long_input_are_handled() {
        assert_eq!(score(""), 0);
        let long = "x".repeat(10_000);
        assert!(estimate(&long, &words(), &[]).guesses_log10.is_finite());
    }
}
