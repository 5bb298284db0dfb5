//! One size on the wire for every request and one for every reply.
//!
//! NIP-44 pads a plaintext only up to its power-of-two bucket, so without more an observer could
//! tell `activate` (a backup and a key proof) from `request_code` (an address), or a
//! `verify_code` answer carrying a backup (the address has an account) from one without. Every
//! request plaintext is therefore the JSON text followed by spaces up to exactly
//! [`REQUEST_LEN`] bytes, and every reply plaintext up to [`REPLY_LEN`]. Trailing whitespace is
//! part of JSON's grammar (RFC 8259, section 2), so any JSON parser reads the padded text as
//! it reads the bare one; a receiver refuses a plaintext of any other length.
//!
//! The request size is paid for in proof of work: the miner hashes the content, which follows
//! the nonce, for every attempt. 4,096 bytes is a NIP-44 bucket of its own and holds a backup
//! with every slot it may have: the largest request, `activate` at its widest (four passkeys with
//! the longest credentials and names), takes 4,052 (test `the_largest_request_fits` in
//! `shared/tests/sizes.rs`).

/// Bytes of every request plaintext.
pub const REQUEST_LEN: usize = 4096;
/// Bytes of every reply plaintext. The largest reply, a backup at its widest, takes 3,637.
pub const REPLY_LEN: usize = 4096;

/// A message too long for its padded size: a bug in whoever built it, never user input that
/// the client did not check first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message takes {len} bytes; at most {max} fit")]
pub struct TooLong {
    pub len: usize,
    pub max: usize,
}

/// `json` followed by spaces up to `len` bytes.
pub fn pad(mut json: String, len: usize) -> Result<String, TooLong> {
    if json.len() > len {
        return Err(TooLong {
            len: json.len(),
            max: len,
        });
    }
    json.extend(std::iter::repeat_n(' ', len - json.len()));
    Ok(json)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pads_with_spaces_that_json_ignores() {
        let padded = pad(r#"{"a":1}"#.to_owned(), 32).unwrap();
        assert_eq!(padded.len(), 32);
        assert!(padded.ends_with(' '));
        let value: serde_json::Value = serde_json::from_str(&padded).unwrap();
        assert_eq!(value["a"], 1);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        assert_eq!(pad("x".repeat(33), 32), Err(TooLong { len: 33, max: 32 }));
        assert_eq!(pad("x".repeat(32), 32).unwrap().len(), 32);
    }
}
