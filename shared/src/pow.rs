//! NIP-13 proof of work.
//!
//! The miner hashes the fixed part of the NIP-01 serialisation once and starts each attempt from
//! that SHA-256 state, so it only hashes the nonce and what follows it (the nonce tag is the last
//! tag). In the browser it hashes four nonces at once on SIMD128 ([`sigil_sha256x4`]). Work is searched in ranges so callers can split it across
//! workers and report progress between ranges.

use nostr::event::{EventId, Kind, Tag, Tags};
use nostr::key::PublicKey;
use nostr::types::Timestamp;

use sigil_sha256x4 as sha256x4;

/// The first nonce searched. Every nonce from here to [`NONCE_END`] has 13 digits, so the
/// nonce tag, like the padded content, has one length whatever the request (see
/// [`crate::padding`]); 9 * 10^12 nonces are more than any difficulty a client accepts needs.
pub const FIRST_NONCE: u64 = 1_000_000_000_000;
/// One past the last nonce searched.
pub const NONCE_END: u64 = 10 * FIRST_NONCE;

/// The nonce at `offset` in the searched range: what [`Miner::search`] finds is an offset, so
/// that callers that split the work count in offsets from zero.
pub fn nonce_at(offset: u64) -> u64 {
    FIRST_NONCE.saturating_add(offset).min(NONCE_END - 1)
}

/// Number of leading zero bits of an event id.
pub fn leading_zero_bits(id: &[u8; 32]) -> u8 {
    let mut bits = 0u8;
    for byte in id {
        if *byte == 0 {
            bits = bits.saturating_add(8);
        } else {
            return bits.saturating_add(byte.leading_zeros() as u8);
        }
    }
    bits
}

/// The NIP-13 nonce tag: `["nonce", "<nonce>", "<committed target>"]`.
pub fn nonce_tag(nonce: u64, target: u8) -> Tag {
    Tag::pow(u128::from(nonce), target)
}

/// Reads the committed target of an event's nonce tag, if it has exactly one well-formed tag:
/// three elements, the nonce and the target in canonical decimal (digits only, no leading zero),
/// the nonce at most 2^64 - 1 and the target at most 255.
pub fn committed_target(tags: &Tags) -> Option<u8> {
    let mut targets = tags.iter().filter(|tag| tag.kind() == "nonce").map(|tag| {
        let values = tag.as_slice();
        match values {
            [_, nonce, target] if canonical::<u64>(nonce) => {
                canonical::<u8>(target).then(|| target.parse().ok())?
            }
            _ => None,
        }
    });
    let first = targets.next()??;
    match targets.next() {
        Some(_) => None,
        None => Some(first),
    }
}

/// Whether `text` is the decimal form of a `T` as it prints: digits only, no sign, no leading
/// zero. Anything else could be read as the same number but hash to another id.
fn canonical<T: std::str::FromStr + ToString>(text: &str) -> bool {
    text.parse::<T>()
        .is_ok_and(|n| n.to_string() == text && text.bytes().all(|b| b.is_ascii_digit()))
}

/// A prepared search for a nonce that gives an event id with `target` leading zero bits.
#[derive(Clone)]
pub struct Miner {
    /// SHA-256 state after the whole 64-byte blocks of the fixed head.
    midstate: [u32; 8],
    /// The head's bytes after those blocks.
    rest: Vec<u8>,
    head_len: usize,
    tail: Vec<u8>,
    target: u8,
}

impl std::fmt::Debug for Miner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Miner")
            .field("target", &self.target)
            .finish()
    }
}

/// SHA-256's initial state.
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// What follows the midstate for nonces of one digit count: the head's rest, the digits (to
/// be filled in), the tail and SHA-256's padding, in whole blocks.
struct Padded {
    blocks: Vec<u8>,
    digits_at: usize,
    digits_len: usize,
}

impl Padded {
    fn set_digits(&mut self, digits: &[u8]) {
        self.blocks[self.digits_at..self.digits_at + digits.len()].copy_from_slice(digits);
    }
}

impl Miner {
    /// `tags` are the event's tags without the nonce tag, which the miner appends last.
    pub fn new(
        pubkey: &PublicKey,
        created_at: Timestamp,
        kind: Kind,
        tags: &Tags,
        content: &str,
        target: u8,
    ) -> Result<Self, serde_json::Error> {
        // `[0,"<pubkey>",<created_at>,<kind>,[<tags>]]` without its closing `]]`.
        let mut head = serde_json::to_vec(&(0u8, pubkey, created_at, kind, tags))?;
        head.truncate(head.len().saturating_sub(2));
        if !tags.is_empty() {
            head.push(b',');
        }
        head.extend_from_slice(br#"["nonce",""#);
        let mut tail = format!(r#"","{target}"]],"#).into_bytes();
        serde_json::to_writer(&mut tail, content)?;
        tail.push(b']');
        let whole = head.len() - head.len() % 64;
        let mut midstate = SHA256_IV;
        compress_blocks(&mut midstate, &head[..whole]);
        Ok(Self {
            midstate,
            rest: head[whole..].to_vec(),
            head_len: head.len(),
            tail,
            target,
        })
    }

    fn padded(&self, digits_len: usize) -> Padded {
        let mut blocks = Vec::with_capacity(self.rest.len() + digits_len + self.tail.len() + 72);
        blocks.extend_from_slice(&self.rest);
        blocks.resize(self.rest.len() + digits_len, b'0');
        blocks.extend_from_slice(&self.tail);
        let bits = ((self.head_len + digits_len + self.tail.len()) as u64) * 8;
        blocks.push(0x80);
        while blocks.len() % 64 != 56 {
            blocks.push(0);
        }
        blocks.extend_from_slice(&bits.to_be_bytes());
        Padded {
            blocks,
            digits_at: self.rest.len(),
            digits_len,
        }
    }

    /// The id the event gets with `nonce`.
    pub fn id_for(&self, nonce: u64) -> [u8; 32] {
        let mut buf = [0u8; 20];
        let digits = format_decimal(nonce, &mut buf);
        let mut padded = self.padded(digits.len());
        padded.set_digits(digits);
        id_bytes(&self.hash(&padded))
    }

    fn hash(&self, padded: &Padded) -> [u32; 8] {
        let mut state = self.midstate;
        compress_blocks(&mut state, &padded.blocks);
        state
    }

    /// Tries `count` nonces from the one at `offset` (see [`nonce_at`]), not beyond
    /// [`NONCE_END`]; the offset of the first that meets the target, with its id.
    pub fn search(&self, offset: u64, count: u64) -> Option<(u64, EventId)> {
        let start = FIRST_NONCE.saturating_add(offset).min(NONCE_END);
        let end = start.saturating_add(count).min(NONCE_END);
        let (nonce, id) = self.search_range(start, end)?;
        Some((nonce - FIRST_NONCE, id))
    }

    /// The first nonce in `start..end` that meets the target, with its id.
    fn search_range(&self, start: u64, end: u64) -> Option<(u64, EventId)> {
        // WebAssembly has no SHA instructions: four nonces per pass of SIMD128 code beat one.
        // Natively, sha2 uses the CPU's SHA extensions one hash at a time.
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            self.search_by_four(start, end)
        } else {
            self.search_one_by_one(start, end)
        }
    }

    fn search_one_by_one(&self, start: u64, end: u64) -> Option<(u64, EventId)> {
        let mut buf = [0u8; 20];
        let mut padded = self.padded(0);
        for nonce in start..end {
            let digits = format_decimal(nonce, &mut buf);
            if digits.len() != padded.digits_len {
                padded = self.padded(digits.len());
            }
            padded.set_digits(digits);
            let state = self.hash(&padded);
            if zero_bits(&state) >= self.target {
                return Some((nonce, EventId::from_byte_array(id_bytes(&state))));
            }
        }
        None
    }

    /// As [`Self::search_one_by_one`], hashing four nonces of the same length at a time.
    fn search_by_four(&self, start: u64, end: u64) -> Option<(u64, EventId)> {
        let mut bufs = [[0u8; 20]; 4];
        let mut lanes: [Padded; 4] = core::array::from_fn(|_| self.padded(0));
        let mut nonce = start;
        while nonce < end {
            let last = nonce.saturating_add(3);
            let digits_len = format_decimal(nonce, &mut bufs[0]).len();
            if last >= end || format_decimal(last, &mut bufs[3]).len() != digits_len {
                // The range's end, or a change of length inside the four: one at a time.
                if let Some(found) = self.search_one_by_one(nonce, nonce + 1) {
                    return Some(found);
                }
                nonce += 1;
                continue;
            }
            if lanes[0].digits_len != digits_len {
                lanes = core::array::from_fn(|_| self.padded(digits_len));
            }
            for (k, (lane, buf)) in lanes.iter_mut().zip(bufs.iter_mut()).enumerate() {
                lane.set_digits(format_decimal(nonce + k as u64, buf));
            }
            let mut state = sha256x4::splat(&self.midstate);
            let [a, b, c, d] = lanes.each_ref().map(|lane| lane.blocks.as_chunks::<64>().0);
            for (((a, b), c), d) in a.iter().zip(b).zip(c).zip(d) {
                sha256x4::compress(&mut state, [a, b, c, d]);
            }
            for k in 0..4 {
                let state = sha256x4::extract(&state, k);
                if zero_bits(&state) >= self.target {
                    let found = nonce + k as u64;
                    return Some((found, EventId::from_byte_array(id_bytes(&state))));
                }
            }
            nonce += 4;
        }
        None
    }
}

/// Runs SHA-256's compression over `blocks` (whole 64-byte blocks).
fn compress_blocks(state: &mut [u32; 8], blocks: &[u8]) {
    sha2::block_api::compress256(state, blocks.as_chunks::<64>().0);
}

fn id_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut id = [0u8; 32];
    for (bytes, word) in id.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    id
}

/// [`leading_zero_bits`] of the id a final SHA-256 state gives, without building it.
fn zero_bits(state: &[u32; 8]) -> u8 {
    let mut bits = 0u32;
    for word in state {
        bits += word.leading_zeros();
        if *word != 0 {
            break;
        }
    }
    bits.min(255) as u8
}

/// Decimal digits of `n` without allocating; the hot loop runs this millions of times.
fn format_decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use nostr::event::UnsignedEvent;
    use nostr::key::Keys;

    use super::*;

    fn tags() -> Tags {
        Tags::from_list(vec![
            Tag::public_key(Keys::generate().public_key()),
            Tag::parse(["x", "quote \" and \\ and \n and é"]).unwrap(),
        ])
    }

    #[test]
    fn midstate_ids_match_nip01_ids() {
        let keys = Keys::generate();
        let content = "content with \"quotes\", unicode ☃ and \u{1} control";
        for tags in [Tags::new(), tags()] {
            let miner = Miner::new(
                &keys.public_key(),
                Timestamp::from_secs(1_700_000_000),
                Kind::from(25910),
                &tags,
                content,
                7,
            )
            .unwrap();
            for nonce in [0u64, 9, 10, 12345, u64::MAX] {
                let mut all = tags.clone().to_vec();
                all.push(nonce_tag(nonce, 7));
                let unsigned = UnsignedEvent::new(
                    keys.public_key(),
                    Timestamp::from_secs(1_700_000_000),
                    Kind::from(25910),
                    all,
                    content,
                );
                assert_eq!(
                    miner.id_for(nonce),
                    unsigned.compute_id().to_bytes(),
                    "nonce {nonce}"
                );
            }
        }
    }

    #[test]
    fn search_finds_an_id_meeting_the_target() {
        let keys = Keys::generate();
        let miner = Miner::new(
            &keys.public_key(),
            Timestamp::now(),
            Kind::from(25910),
            &tags(),
            "x",
            10,
        )
        .unwrap();
        let (offset, id) = miner.search(0, 1 << 24).unwrap();
        assert!(leading_zero_bits(id.as_bytes()) >= 10);
        let nonce = nonce_at(offset);
        assert_eq!(nonce.to_string().len(), 13, "a 13-digit nonce");
        assert_eq!(miner.id_for(nonce), id.to_bytes());
        // The next search from past it finds the next one, counted in offsets.
        if let Some((next, _)) = miner.search(offset + 1, 1 << 24) {
            assert!(next > offset);
        }
    }

    #[test]
    fn four_at_a_time_finds_what_one_at_a_time_finds() {
        let keys = Keys::generate();
        for content in ["", "x", &"y".repeat(300)] {
            let miner = Miner::new(
                &keys.public_key(),
                Timestamp::now(),
                Kind::from(25910),
                &tags(),
                content,
                6,
            )
            .unwrap();
            // Ranges across changes of digit count, and ends inside a group of four.
            for (start, count) in [(0, 5000), (95, 10), (9_997, 7), (u64::MAX - 5, 5)] {
                let mut from = start;
                while let Some((nonce, id)) = miner.search_one_by_one(from, start + count) {
                    assert_eq!(miner.search_by_four(from, start + count), Some((nonce, id)));
                    assert_eq!(miner.id_for(nonce), id.to_bytes());
                    from = nonce + 1;
                }
                assert_eq!(miner.search_by_four(from, start + count), None);
            }
        }
    }

    #[test]
    fn counts_leading_zero_bits() {
        let mut id = [0u8; 32];
        assert_eq!(leading_zero_bits(&id), 255);
        id[0] = 0x80;
        assert_eq!(leading_zero_bits(&id), 0);
        id[0] = 0;
        id[1] = 0x0f;
        assert_eq!(leading_zero_bits(&id), 12);
    }

    #[test]
    fn reads_exactly_one_committed_target() {
        let with = |tags: Vec<Tag>| committed_target(&Tags::from_list(tags));
        assert_eq!(with(vec![nonce_tag(5, 16)]), Some(16));
        assert_eq!(with(vec![]), None);
        assert_eq!(with(vec![nonce_tag(5, 16), nonce_tag(6, 20)]), None);
        assert_eq!(with(vec![Tag::parse(["nonce", "5"]).unwrap()]), None);
        assert_eq!(with(vec![Tag::parse(["nonce", "x", "16"]).unwrap()]), None);
        assert_eq!(with(vec![Tag::parse(["nonce", "5", "999"]).unwrap()]), None);
        for (nonce, target) in [
            ("05", "16"),
            ("+5", "16"),
            ("5", "016"),
            ("5", "+16"),
            (" 5", "16"),
        ] {
            let tag = Tag::parse(["nonce", nonce, target]).unwrap();
            assert_eq!(with(vec![tag]), None, "{nonce:?} {target:?}");
        }
        let too_big = (u128::from(u64::MAX) + 1).to_string();
        assert_eq!(
            with(vec![Tag::parse(["nonce", &too_big, "16"]).unwrap()]),
            None
        );
        assert_eq!(
            with(vec![Tag::parse(["nonce", "0", "0"]).unwrap()]),
            Some(0)
        );
    }
}
