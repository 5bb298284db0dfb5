//! Property tests: the backup envelope and the request rules hold for generated inputs, not only
//! for the hand-picked cases of the other test files. Cases that run Argon2id are few (each
//! costs one derivation at the floor parameters); the parsers get many.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use proptest::prelude::*;
use sigil_shared::argon2id::ThisThread;
use sigil_shared::dvm;
use sigil_shared::envelope::{
    BackupEnvelope, Entropy, EnvelopeError, KdfParams, SlotEnvelope, Unlock,
};
use sigil_shared::method::Request;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};
use sigil_shared::validation::{Policy, check_request};

fn secret_from(seed: [u8; 32]) -> AccountSecret {
    // Nearly every 32-byte string is a valid key; the rare one that is not is nudged.
    AccountSecret::from_bytes(&seed)
        .or_else(|_| AccountSecret::from_bytes(&[1; 32]))
        .expect("valid key")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Any key, password and entropy: what is sealed opens to the same key, only with that
    /// password, and any flipped byte of the sealed key is refused, not mis-decrypted.
    #[test]
    fn sealed_backups_open_only_intact_and_with_their_password(
        seed in any::<[u8; 32]>(),
        password in "\\PC{1,40}",
        other in "\\PC{1,40}",
        entropy in any::<[u8; 32]>(),
        flip in any::<(usize, u8)>(),
    ) {
        let secret = secret_from(seed);
        let entropy = Entropy(entropy);
        let password_typed = Password::new(&password);
        let (envelope, _) = SlotEnvelope::create(&secret, &password_typed, &entropy, KdfParams::FLOOR, &ThisThread).unwrap();
        let by_password = Unlock::Password(&password_typed, &entropy, &ThisThread);
        let opened = envelope.open(&by_password).unwrap();
        prop_assert_eq!(opened.secret().public_key(), secret.public_key());

        if Password::new(&other).as_bytes() != password_typed.as_bytes() {
            prop_assert_eq!(
                envelope.open(&Unlock::Password(&Password::new(&other), &entropy, &ThisThread)).err(),
                Some(EnvelopeError::WrongPasswordOrTampered)
            );
        }

        let mut bytes = hex::decode(&envelope.ciphertext).unwrap();
        let (index, mask) = (flip.0 % bytes.len(), flip.1.max(1));
        bytes[index] ^= mask;
        let mut tampered = envelope.clone();
        tampered.ciphertext = hex::encode(bytes);
        prop_assert_eq!(
            tampered.open(&by_password).err(),
            Some(EnvelopeError::SlotsAltered)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Parameters are accepted exactly when each lies between the floor and the ceiling.
    #[test]
    fn kdf_parameters_are_accepted_exactly_within_bounds(m in 0u32..600_000, t in 0u32..20, p in 0u32..32) {
        let params = KdfParams::argon2id(m, t, p);
        let (floor, ceiling) = (KdfParams::FLOOR, KdfParams::CEILING);
        let within = (floor.m_kib..=ceiling.m_kib).contains(&m)
            && (floor.t..=ceiling.t).contains(&t)
            && (floor.p..=ceiling.p).contains(&p);
        prop_assert_eq!(params.check().is_ok(), within, "{:?}", params);
    }

    /// Any JSON-shaped text: parsing and validating an envelope returns, never panics.
    #[test]
    fn envelope_parsing_never_panics(text in "\\{\"v\":[0-9]{1,3},\"pubkey\":\"[0-9a-f]{0,70}\",\"kdf\":\\{\"alg\":\"argon2id\",\"m_kib\":[0-9]{1,7},\"t\":[0-9]{1,2},\"p\":[0-9]{1,2}\\},\"nonce\":\"[0-9a-f]{0,60}\",\"ciphertext\":\"[0-9a-f]{0,120}\"\\}") {
        if let Ok(envelope) = serde_json::from_str::<BackupEnvelope>(&text) {
            let _ = envelope.validate();
        }
    }

    /// Arbitrary bytes are refused with a code, never a panic.
    #[test]
    fn arbitrary_request_bodies_are_refused_cleanly(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let policy = Policy { server: Keys::generate().public_key(), min_difficulty: 8, window_secs: 300, max_bytes: 1024 };
        prop_assert!(check_request(&body, &policy, Timestamp::now()).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Changing any one character of a valid request's JSON either leaves the same event (a
    /// change the JSON parser does not see) or gets it refused: no altered request passes.
    #[test]
    fn a_request_altered_anywhere_is_refused(position in any::<usize>(), replacement in proptest::char::range('!', '~')) {
        let server = Keys::generate();
        let client = Keys::generate();
        let now = Timestamp::now();
        let request = Request::RequestCode { email: "prop@example.org".into() };
        let event = dvm::seal_request(&client, &server.public_key(), &request, 8, now).unwrap();
        let policy = Policy { server: server.public_key(), min_difficulty: 8, window_secs: 300, max_bytes: 16 * 1024 };
        let json = event.as_json();
        let mut chars: Vec<char> = json.chars().collect();
        let index = position % chars.len();
        chars[index] = replacement;
        let altered: String = chars.into_iter().collect();
        if let Ok(passed) = check_request(altered.as_bytes(), &policy, now) {
            prop_assert!(passed.event() == &event, "an altered request passed: {}", altered);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the server accepts is exactly what it hashed: the accepted event serialises
    /// back to the same JSON values as the body received (no case folded, no number or string
    /// read two ways), so its id is the hash of what the client sent. Bodies are a valid
    /// request with one character's case flipped, or one character replaced.
    #[test]
    fn an_accepted_request_is_exactly_the_bytes_it_was_hashed_from(
        position in any::<usize>(),
        replacement in proptest::option::of(proptest::char::range('!', '~')),
    ) {
        let server = Keys::generate();
        let now = Timestamp::now();
        let request = Request::GetBackup { version: None };
        let event = dvm::seal_request(&Keys::generate(), &server.public_key(), &request, 8, now).unwrap();
        let policy = Policy { server: server.public_key(), min_difficulty: 8, window_secs: 300, max_bytes: 16 * 1024 };
        let mut chars: Vec<char> = event.as_json().chars().collect();
        let index = position % chars.len();
        chars[index] = match replacement {
            Some(c) => c,
            None if chars[index].is_ascii_lowercase() => chars[index].to_ascii_uppercase(),
            None => chars[index].to_ascii_lowercase(),
        };
        let body: String = chars.into_iter().collect();
        if let Ok(passed) = check_request(body.as_bytes(), &policy, now) {
            let received: serde_json::Value = serde_json::from_str(&body).unwrap();
            let accepted: serde_json::Value = serde_json::from_str(&passed.event().as_json()).unwrap();
            prop_assert_eq!(received, accepted);
            prop_assert!(passed.event().verify_id());
        }
    }
}
