//! NIP-13 proof of work.
//!
//! The miner hashes the fixed part of the NIP-01 serialisation once and clones that SHA-256 state
//! per nonce, so each attempt only hashes the nonce and what follows it. The nonce tag is the last
//! tag, which keeps that tail short. Work is searched in ranges so callers can split it across
//! workers and report progress between ranges.

use nostr::event::{EventId, Kind, Tag, Tags};
use nostr::key::PublicKey;
use nostr::types::Timestamp;
use sha2::{Digest, Sha256};

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

/// Reads the committed target of an event's nonce tag, if it has exactly one well-formed tag.
pub fn committed_target(tags: &Tags) -> Option<u8> {
    let mut targets = tags.iter().filter(|tag| tag.kind() == "nonce").map(|tag| {
        let values = tag.as_slice();
        match values {
            [_, nonce, target] if nonce.parse::<u128>().is_ok() => target.parse::<u8>().ok(),
            _ => None,
        }
    });
    let first = targets.next()??;
    match targets.next() {
        Some(_) => None,
        None => Some(first),
    }
}

/// A prepared search for a nonce that gives an event id with `target` leading zero bits.
#[derive(Clone)]
pub struct Miner {
    midstate: Sha256,
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
        Ok(Self {
            midstate: Sha256::new().chain_update(&head),
            tail,
            target,
        })
    }

    /// The id the event gets with `nonce`.
    pub fn id_for(&self, nonce: u64) -> [u8; 32] {
        let mut buf = [0u8; 20];
        let digits = format_decimal(nonce, &mut buf);
        self.midstate
            .clone()
            .chain_update(digits)
            .chain_update(&self.tail)
            .finalize()
            .into()
    }

    /// Tries `count` nonces from `start`; the first that meets the target, with its id.
    pub fn search(&self, start: u64, count: u64) -> Option<(u64, EventId)> {
        (start..start.saturating_add(count)).find_map(|nonce| {
            let id = self.id_for(nonce);
            (leading_zero_bits(&id) >= self.target).then(|| (nonce, EventId::from_byte_array(id)))
        })
    }
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
        let (nonce, id) = miner.search(0, 1 << 24).unwrap();
        assert!(leading_zero_bits(id.as_bytes()) >= 10);
        assert_eq!(miner.id_for(nonce), id.to_bytes());
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
    }
}
