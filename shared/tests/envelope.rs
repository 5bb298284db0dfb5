//! Backup envelope: known answers from independent implementations, round trips, tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use serde::Deserialize;
use sigil_shared::argon2id::ThisThread;
use sigil_shared::envelope::{
    BackupEnvelope, ENVELOPE_VERSION, Entropy, EnvelopeError, KdfParams, derive_key, kdf_salt,
};
use sigil_shared::nostr::key::Keys;
use sigil_shared::secret::{AccountSecret, Password};

#[derive(Deserialize)]
struct Vector {
    name: String,
    password: String,
    entropy: String,
    secret_key: String,
    pubkey: String,
    kdf: KdfParams,
    nonce: String,
    salt: String,
    derived_key: String,
    envelope: BackupEnvelope,
}

/// Known answers of envelope version `v`, made with argon2-cffi and PyNaCl
/// (`vectors/generate_backup_vectors.py`).
fn vectors_of(v: u8) -> Vec<Vector> {
    let json = match v {
        1 => include_str!("vectors/backup-v1.json"),
        _ => include_str!("vectors/backup-v2.json"),
    };
    serde_json::from_str(json).expect("vector file parses")
}

/// The vectors of the version new backups are sealed with.
fn vectors() -> Vec<Vector> {
    vectors_of(ENVELOPE_VERSION)
}

fn secret_from_hex(hex: &str) -> AccountSecret {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex, &mut bytes).expect("hex secret");
    AccountSecret::from_bytes(&bytes).expect("valid scalar")
}

#[test]
fn the_salt_and_key_of_every_version_match_the_known_answers() {
    for version in [1, 2] {
        for v in vectors_of(version) {
            let secret = secret_from_hex(&v.secret_key);
            assert_eq!(secret.public_key().to_hex(), v.pubkey, "{}", v.name);
            let entropy = Entropy::from_hex(&v.entropy).expect("entropy");
            let salt = kdf_salt(version, &entropy, &secret.public_key()).expect("salt");
            assert_eq!(hex::encode(salt), v.salt, "v{version} {}: salt", v.name);
            let key =
                derive_key(&Password::new(&v.password), &salt, &v.kdf, &ThisThread).expect("kdf");
            assert_eq!(hex::encode(*key), v.derived_key, "v{version} {}", v.name);
        }
    }
}

#[test]
fn sealing_reproduces_the_known_answers() {
    for v in vectors() {
        let secret = secret_from_hex(&v.secret_key);
        let mut nonce = [0u8; 24];
        hex::decode_to_slice(&v.nonce, &mut nonce).expect("nonce");
        let sealed = BackupEnvelope::seal_with_nonce(
            &secret,
            &Password::new(&v.password),
            &Entropy::from_hex(&v.entropy).expect("entropy"),
            v.kdf,
            nonce,
            &ThisThread,
        )
        .expect("seal");
        assert_eq!(sealed, v.envelope, "{}: envelope", v.name);
        assert!(!sealed.is_outdated());
    }
}

#[test]
fn opening_the_known_answers_of_every_version_gives_the_secret_key() {
    for version in [1, 2] {
        for v in vectors_of(version) {
            let entropy = Entropy::from_hex(&v.entropy).expect("entropy");
            let opened = v
                .envelope
                .open(&Password::new(&v.password), &entropy, &ThisThread)
                .expect("open");
            assert_eq!(opened.public_key().to_hex(), v.pubkey, "{}", v.name);
            assert_eq!(v.envelope.is_outdated(), version < ENVELOPE_VERSION);
        }
    }
}

/// A version-1 envelope relabelled as version 2 (or the reverse) does not open: the version
/// picks the salt and the associated data, so it cannot be changed without detection.
#[test]
fn the_version_cannot_be_swapped() {
    for (from, to) in [(1, 2), (2, 1)] {
        let v = vectors_of(from).remove(0);
        let mut swapped = v.envelope.clone();
        swapped.v = to;
        let entropy = Entropy::from_hex(&v.entropy).expect("entropy");
        let opened = swapped.open(&Password::new(&v.password), &entropy, &ThisThread);
        assert_eq!(opened.err(), Some(EnvelopeError::WrongPasswordOrTampered));
    }
}

struct Fixture {
    secret: AccountSecret,
    password: Password,
    entropy: Entropy,
    envelope: BackupEnvelope,
}

fn fixture() -> Fixture {
    let secret = AccountSecret::generate();
    let password = Password::new("a long and unusual passphrase");
    let entropy = Entropy::generate();
    let envelope =
        BackupEnvelope::seal(&secret, &password, &entropy, KdfParams::FLOOR, &ThisThread)
            .expect("seal");
    Fixture {
        secret,
        password,
        entropy,
        envelope,
    }
}

#[test]
fn round_trip_recovers_the_same_key() {
    let f = fixture();
    let opened = f
        .envelope
        .open(&f.password, &f.entropy, &ThisThread)
        .expect("open");
    assert_eq!(opened.public_key(), f.secret.public_key());
    assert_eq!(f.envelope.validate(), Ok(f.secret.public_key()));
}

#[test]
fn each_seal_uses_a_fresh_nonce() {
    let f = fixture();
    let again = BackupEnvelope::seal(
        &f.secret,
        &f.password,
        &f.entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .expect("seal");
    assert_ne!(f.envelope.nonce, again.nonce);
    assert_ne!(f.envelope.ciphertext, again.ciphertext);
}

fn flip_hex(hex: &str, index: usize) -> String {
    let mut bytes = hex::decode(hex).expect("hex");
    bytes[index] ^= 0x01;
    hex::encode(bytes)
}

#[test]
fn tampering_fails_with_a_typed_error() {
    let f = fixture();
    let other_pubkey = Keys::generate().public_key().to_hex();
    type Tamper = fn(&mut BackupEnvelope, &str);
    let cases: [(&str, Tamper, EnvelopeError); 7] = [
        (
            "flipped ciphertext byte",
            |e, _| e.ciphertext = flip_hex(&e.ciphertext, 3),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "flipped tag byte",
            |e, _| e.ciphertext = flip_hex(&e.ciphertext, 47),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "flipped nonce byte",
            |e, _| e.nonce = flip_hex(&e.nonce, 0),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "swapped pubkey",
            |e, other| e.pubkey = other.to_owned(),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "raised iterations",
            |e, _| e.kdf.t += 1,
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "future version",
            |e, _| e.v = 3,
            EnvelopeError::UnsupportedVersion(3),
        ),
        (
            "truncated ciphertext",
            |e, _| e.ciphertext.truncate(10),
            EnvelopeError::Malformed("ciphertext"),
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut envelope = f.envelope.clone();
        tamper(&mut envelope, &other_pubkey);
        assert_eq!(
            envelope.open(&f.password, &f.entropy, &ThisThread).err(),
            Some(expected),
            "{name}"
        );
    }
}

#[test]
fn wrong_password_and_wrong_entropy_fail() {
    let f = fixture();
    let wrong = Password::new("a long and unusual passphrasE");
    assert_eq!(
        f.envelope.open(&wrong, &f.entropy, &ThisThread).err(),
        Some(EnvelopeError::WrongPasswordOrTampered)
    );
    assert_eq!(
        f.envelope
            .open(&f.password, &Entropy::generate(), &ThisThread)
            .err(),
        Some(EnvelopeError::WrongPasswordOrTampered)
    );
}

#[test]
fn parameters_outside_floor_and_ceiling_are_refused_before_any_work() {
    let f = fixture();
    let weakened = [
        KdfParams::argon2id(KdfParams::FLOOR.m_kib - 1, 2, 1),
        KdfParams::argon2id(64 * 1024, 1, 4),
        KdfParams::argon2id(64 * 1024, 3, 0),
        KdfParams::argon2id(KdfParams::CEILING.m_kib + 1, 3, 4),
        KdfParams::argon2id(64 * 1024, 11, 4),
    ];
    for kdf in weakened {
        let mut envelope = f.envelope.clone();
        envelope.kdf = kdf;
        assert_eq!(
            envelope.open(&f.password, &f.entropy, &ThisThread).err(),
            Some(EnvelopeError::KdfParamsOutOfRange(kdf)),
            "{kdf:?}"
        );
        assert_eq!(
            BackupEnvelope::seal(&f.secret, &f.password, &f.entropy, kdf, &ThisThread).err(),
            Some(EnvelopeError::KdfParamsOutOfRange(kdf)),
            "seal {kdf:?}"
        );
    }
}

#[test]
fn a_backup_for_another_account_is_refused() {
    let f = fixture();
    let someone_else = AccountSecret::generate().public_key();
    assert_eq!(
        f.envelope
            .open_for(&someone_else, &f.password, &f.entropy, &ThisThread)
            .err(),
        Some(EnvelopeError::ForeignKey)
    );
    assert!(
        f.envelope
            .open_for(&f.secret.public_key(), &f.password, &f.entropy, &ThisThread)
            .is_ok()
    );
}

#[test]
fn envelope_json_is_stable() {
    let v = &vectors()[0];
    let json = serde_json::to_value(&v.envelope).expect("json");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["ciphertext", "kdf", "nonce", "pubkey", "v"]);
    assert_eq!(json["kdf"]["alg"], "argon2id");
}

/// Hex must be lowercase and every field known: a second spelling of the same bytes would be a
/// second backup to the server, and an unknown field a place to hide anything.
#[test]
fn uppercase_hex_and_unknown_fields_are_refused() {
    let v = vectors().remove(0);
    assert!(v.envelope.validate().is_ok());
    for field in ["pubkey", "nonce", "ciphertext"] {
        let mut upper = v.envelope.clone();
        let value = match field {
            "pubkey" => &mut upper.pubkey,
            "nonce" => &mut upper.nonce,
            _ => &mut upper.ciphertext,
        };
        *value = value.to_uppercase();
        assert_eq!(
            upper.validate(),
            Err(EnvelopeError::Malformed(field)),
            "{field}"
        );
    }
    let mut json = serde_json::to_value(&v.envelope).unwrap();
    json["extra"] = serde_json::json!(1);
    assert!(serde_json::from_value::<BackupEnvelope>(json).is_err());
    let mut json = serde_json::to_value(&v.envelope).unwrap();
    json["kdf"]["salt"] = serde_json::json!("00");
    assert!(serde_json::from_value::<BackupEnvelope>(json).is_err());
    assert!(Entropy::from_hex(&v.entropy.to_uppercase().replace('0', "A")).is_err());
}
