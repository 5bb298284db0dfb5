//! Backup envelope: known answers from independent implementations, round trips, and what a
//! hostile server could try on a stored backup (tampering, removing, reordering, moving and
//! downgrading slots).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use serde::Deserialize;
use sigil_shared::argon2id::ThisThread;
use sigil_shared::envelope::{
    BackupEnvelope, DataKey, ENVELOPE_VERSION, Entropy, EnvelopeError, KdfParams,
    MAX_CREDENTIAL_BYTES, MAX_PASSKEY_NAME_BYTES, MAX_PASSKEYS, NewSlot, PasskeyInfo,
    PasswordEnvelope, Slot, SlotEnvelope, SlotKind, SlotSecret, Unlock, derive_key, kdf_salt,
};
use sigil_shared::error::BackupProblem;
use sigil_shared::nostr::key::Keys;
use sigil_shared::recovery::RecoveryCode;
use sigil_shared::secret::{AccountSecret, Password};

#[derive(Deserialize)]
struct Vector {
    name: String,
    password: String,
    entropy: String,
    secret_key: String,
    pubkey: String,
    kdf: KdfParams,
    salt: String,
    derived_key: String,
    envelope: BackupEnvelope,
}

/// What version 3's known answers add: the fixed randomness and each slot's secret.
#[derive(Deserialize)]
struct SlottedVector {
    #[serde(flatten)]
    common: Vector,
    data_key: String,
    id: String,
    rev: u64,
    vault_nonce: String,
    password_nonce: String,
    recovery_code: String,
    recovery_code_bytes: String,
    recovery_key: String,
    recovery_nonce: String,
    passkey: Option<PasskeyVector>,
    passkey_key: Option<String>,
}

#[derive(Deserialize)]
struct PasskeyVector {
    credential: String,
    name: String,
    created: u64,
    prf_salt: String,
    prf_output: String,
    nonce: String,
}

/// Known answers of envelope version `v`, made with argon2-cffi and PyNaCl
/// (`vectors/generate_backup_vectors.py`).
fn vectors_of(v: u8) -> Vec<Vector> {
    let json = match v {
        1 => include_str!("vectors/backup-v1.json"),
        2 => include_str!("vectors/backup-v2.json"),
        _ => include_str!("vectors/backup-v3.json"),
    };
    serde_json::from_str(json).expect("vector file parses")
}

fn slotted_vectors() -> Vec<SlottedVector> {
    serde_json::from_str(include_str!("vectors/backup-v3.json")).expect("vector file parses")
}

fn bytes<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0u8; N];
    hex::decode_to_slice(hex, &mut out).expect("hex");
    out
}

fn secret_from_hex(hex: &str) -> AccountSecret {
    AccountSecret::from_bytes(&bytes(hex)).expect("valid scalar")
}

fn slots_of(envelope: &BackupEnvelope) -> &SlotEnvelope {
    match envelope {
        BackupEnvelope::Slots(slots) => slots,
        BackupEnvelope::Password(_) => panic!("a version-3 envelope"),
    }
}

#[test]
fn the_salt_and_key_of_every_version_match_the_known_answers() {
    for version in [1, 2, 3] {
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
fn opening_the_known_answers_of_every_version_gives_the_secret_key() {
    for version in [1, 2, 3] {
        for v in vectors_of(version) {
            let entropy = Entropy::from_hex(&v.entropy).expect("entropy");
            let opened = v
                .envelope
                .open(&Password::new(&v.password), &entropy, &ThisThread)
                .expect("open");
            assert_eq!(opened.public_key().to_hex(), v.pubkey, "{}", v.name);
            assert_eq!(v.envelope.version(), version);
            assert_eq!(v.envelope.is_outdated(), version < ENVELOPE_VERSION);
        }
    }
}

/// The recovery code's text, each slot's key, and the whole envelope, byte for byte.
#[test]
fn sealing_reproduces_the_version_3_known_answers() {
    for v in slotted_vectors() {
        let name = &v.common.name;
        let secret = secret_from_hex(&v.common.secret_key);
        let pubkey = secret.public_key();
        let entropy = Entropy::from_hex(&v.common.entropy).unwrap();
        let password = SlotSecret::password(
            &Password::new(&v.common.password),
            &entropy,
            &pubkey,
            &v.common.kdf,
            &ThisThread,
        )
        .unwrap();
        let code = RecoveryCode::parse(&v.recovery_code).unwrap();
        assert_eq!(
            hex::encode(code.as_bytes()),
            v.recovery_code_bytes,
            "{name}"
        );
        let made = RecoveryCode::from_bytes(bytes(&v.recovery_code_bytes));
        assert_eq!(*made.display(), v.recovery_code, "{name}");
        let recovery = SlotSecret::recovery(&pubkey, &code);
        assert_eq!(format!("{recovery:?}"), "SlotSecret(<redacted>)");
        let mut slots = vec![
            (
                NewSlot::Password(v.common.kdf),
                &password,
                bytes(&v.password_nonce),
            ),
            (NewSlot::Recovery, &recovery, bytes(&v.recovery_nonce)),
        ];
        let passkey_secret = v
            .passkey
            .as_ref()
            .map(|p| SlotSecret::passkey(&pubkey, &bytes(&p.prf_output)));
        if let (Some(p), Some(secret)) = (&v.passkey, &passkey_secret) {
            let info = PasskeyInfo {
                credential: hex::decode(&p.credential).unwrap(),
                name: p.name.clone(),
                created: p.created,
                prf_salt: bytes(&p.prf_salt),
            };
            slots.push((NewSlot::Passkey(info), secret, bytes(&p.nonce)));
        }
        let sealed = SlotEnvelope::assemble(
            &secret,
            &DataKey::from_bytes(bytes(&v.data_key)),
            bytes(&v.id),
            v.rev,
            bytes(&v.vault_nonce),
            &slots,
        )
        .unwrap();
        assert_eq!(BackupEnvelope::Slots(sealed), v.common.envelope, "{name}");

        // Each secret opens it on its own; the hashed slot keys match too.
        let envelope = slots_of(&v.common.envelope);
        let by_code = envelope.open(&Unlock::Recovery(&code)).unwrap();
        assert_eq!(by_code.secret().public_key(), pubkey, "{name}");
        assert_eq!(v.recovery_key.len(), 64);
        if let (Some(p), Some(key)) = (&v.passkey, &v.passkey_key) {
            assert_eq!(key.len(), 64);
            let by_passkey = envelope
                .open(&Unlock::Passkey {
                    credential: &hex::decode(&p.credential).unwrap(),
                    prf_output: &bytes(&p.prf_output),
                })
                .unwrap();
            assert_eq!(by_passkey.secret().public_key(), pubkey, "{name}");
        }
    }
}

/// A version-1 envelope relabelled as version 2 (or the reverse) does not open: the version
/// picks the salt and the associated data, so it cannot be changed without detection.
#[test]
fn the_version_of_an_old_envelope_cannot_be_swapped() {
    for (from, to) in [(1, 2), (2, 1)] {
        let v = vectors_of(from).remove(0);
        let BackupEnvelope::Password(mut swapped) = v.envelope.clone() else {
            panic!("a version-{from} envelope");
        };
        swapped.v = to;
        let entropy = Entropy::from_hex(&v.entropy).expect("entropy");
        let opened = swapped.open(&Password::new(&v.password), &entropy, &ThisThread);
        assert_eq!(opened.err(), Some(EnvelopeError::WrongPasswordOrTampered));
    }
}

#[test]
fn an_old_envelope_with_a_changed_byte_is_refused() {
    let v = vectors_of(2).remove(0);
    let BackupEnvelope::Password(envelope) = v.envelope else {
        panic!("version 2");
    };
    let entropy = Entropy::from_hex(&v.entropy).unwrap();
    let password = Password::new(&v.password);
    type Tamper = fn(&mut PasswordEnvelope);
    let cases: [(&str, Tamper, EnvelopeError); 5] = [
        (
            "flipped ciphertext byte",
            |e| e.ciphertext = flip_hex(&e.ciphertext, 3),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "flipped nonce byte",
            |e| e.nonce = flip_hex(&e.nonce, 0),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "raised iterations",
            |e| e.kdf.t += 1,
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            "lowered memory",
            |e| e.kdf.m_kib -= 1,
            EnvelopeError::KdfParamsOutOfRange(KdfParams::argon2id(19455, 2, 1)),
        ),
        (
            "truncated ciphertext",
            |e| e.ciphertext.truncate(10),
            EnvelopeError::Malformed("ciphertext"),
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut tampered = envelope.clone();
        tamper(&mut tampered);
        let opened = tampered.open(&password, &entropy, &ThisThread);
        assert_eq!(opened.err(), Some(expected), "{name}");
    }
}

struct Fixture {
    secret: AccountSecret,
    password: Password,
    entropy: Entropy,
    code: RecoveryCode,
    envelope: SlotEnvelope,
}

/// A new account's envelope as signup makes it: the password slot, then a recovery code.
fn fixture() -> Fixture {
    let secret = AccountSecret::generate();
    let password = Password::new("a long and unusual passphrase");
    let entropy = Entropy::generate();
    let (created, opened) =
        SlotEnvelope::create(&secret, &password, &entropy, KdfParams::FLOOR, &ThisThread).unwrap();
    assert_eq!(created.rev, 1);
    let code = RecoveryCode::generate();
    let envelope = created.with_recovery(&opened, &code).unwrap();
    Fixture {
        secret,
        password,
        entropy,
        code,
        envelope,
    }
}

impl Fixture {
    fn by_password(&self) -> Unlock<'_> {
        Unlock::Password(&self.password, &self.entropy, &ThisThread)
    }
}

fn flip_hex(hex: &str, index: usize) -> String {
    let mut bytes = hex::decode(hex).expect("hex");
    bytes[index] ^= 0x01;
    hex::encode(bytes)
}

fn passkey(credential: u8) -> (PasskeyInfo, [u8; 32]) {
    let info = PasskeyInfo {
        credential: vec![credential; 20],
        name: format!("Key {credential}"),
        created: 1_764_950_400,
        prf_salt: [credential; 32],
    };
    (info, [credential.wrapping_add(1); 32])
}

#[test]
fn every_slot_opens_the_same_key_and_nothing_else_does() {
    let f = fixture();
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let (info, prf) = passkey(9);
    let with_passkey = f
        .envelope
        .with_passkey(&opened, info.clone(), &prf)
        .unwrap();
    assert_eq!(with_passkey.rev, 3);
    assert_eq!(with_passkey.passkeys(), vec![info.clone()]);
    for unlock in [
        f.by_password(),
        Unlock::Recovery(&f.code),
        Unlock::Passkey {
            credential: &info.credential,
            prf_output: &prf,
        },
    ] {
        let opened = with_passkey.open(&unlock).expect("opens");
        assert_eq!(opened.secret().public_key(), f.secret.public_key());
    }
    let wrong = [
        (
            Unlock::Password(
                &Password::new("a long and unusual passphrasE"),
                &f.entropy,
                &ThisThread,
            ),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            Unlock::Password(&f.password, &Entropy::generate(), &ThisThread),
            EnvelopeError::WrongPasswordOrTampered,
        ),
        (
            Unlock::Recovery(&RecoveryCode::generate()),
            EnvelopeError::WrongRecoveryCode,
        ),
        (
            Unlock::Passkey {
                credential: &info.credential,
                prf_output: &[0; 32],
            },
            EnvelopeError::PasskeyRefused,
        ),
        (
            Unlock::Passkey {
                credential: &[1, 2, 3],
                prf_output: &prf,
            },
            EnvelopeError::NoSlot(SlotKind::Passkey),
        ),
    ];
    for (unlock, expected) in wrong {
        assert_eq!(with_passkey.open(&unlock).err(), Some(expected));
    }
}

/// A password change, a new recovery code and a removed passkey each stop the old secret
/// opening the new envelope; every other slot keeps working.
#[test]
fn replaced_and_removed_slots_no_longer_open() {
    let f = fixture();
    let opened = f.envelope.open(&Unlock::Recovery(&f.code)).unwrap();
    let new_password = Password::new("another long passphrase");
    let changed = f
        .envelope
        .with_password(
            &opened,
            &new_password,
            &f.entropy,
            KdfParams::FLOOR,
            &ThisThread,
        )
        .unwrap();
    assert_eq!(
        changed.open(&f.by_password()).err(),
        Some(EnvelopeError::WrongPasswordOrTampered)
    );
    assert!(changed.open(&Unlock::Recovery(&f.code)).is_ok());
    let by_new = Unlock::Password(&new_password, &f.entropy, &ThisThread);
    assert!(changed.open(&by_new).is_ok());

    let new_code = RecoveryCode::generate();
    let recoded = changed.with_recovery(&opened, &new_code).unwrap();
    assert_eq!(
        recoded.open(&Unlock::Recovery(&f.code)).err(),
        Some(EnvelopeError::WrongRecoveryCode)
    );
    assert!(recoded.open(&Unlock::Recovery(&new_code)).is_ok());
    assert_eq!(recoded.slots.len(), 2, "the code is replaced, not added");

    let (info, prf) = passkey(4);
    let with = recoded.with_passkey(&opened, info.clone(), &prf).unwrap();
    let without = with.without_passkey(&opened, &info.credential).unwrap();
    let by_passkey = Unlock::Passkey {
        credential: &info.credential,
        prf_output: &prf,
    };
    assert_eq!(
        without.open(&by_passkey).err(),
        Some(EnvelopeError::NoSlot(SlotKind::Passkey))
    );
    assert!(without.open(&by_new).is_ok());
    assert_eq!(
        [changed.rev, recoded.rev, with.rev, without.rev],
        [3, 4, 5, 6]
    );
}

#[test]
fn parameters_outside_floor_and_ceiling_are_refused_before_any_work() {
    let f = fixture();
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let weakened = [
        KdfParams::argon2id(KdfParams::FLOOR.m_kib - 1, 2, 1),
        KdfParams::argon2id(64 * 1024, 1, 4),
        KdfParams::argon2id(64 * 1024, 3, 0),
        KdfParams::argon2id(KdfParams::CEILING.m_kib + 1, 3, 4),
        KdfParams::argon2id(64 * 1024, 11, 4),
    ];
    for kdf in weakened {
        let refused = Some(EnvelopeError::KdfParamsOutOfRange(kdf));
        let mut envelope = f.envelope.clone();
        if let Slot::Password { kdf: stored, .. } = &mut envelope.slots[0] {
            *stored = kdf;
        }
        assert_eq!(envelope.open(&f.by_password()).err(), refused, "{kdf:?}");
        let created = SlotEnvelope::create(&f.secret, &f.password, &f.entropy, kdf, &ThisThread);
        assert_eq!(created.err(), refused, "create {kdf:?}");
        let changed = f
            .envelope
            .with_password(&opened, &f.password, &f.entropy, kdf, &ThisThread);
        assert_eq!(changed.err(), refused, "change {kdf:?}");
    }
}

#[test]
fn passkeys_are_capped_and_the_data_key_edits_only_its_own_envelope() {
    let f = fixture();
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let mut envelope = f.envelope.clone();
    for n in 0..MAX_PASSKEYS as u8 {
        let (info, prf) = passkey(n);
        envelope = envelope.with_passkey(&opened, info, &prf).unwrap();
    }
    let (extra, prf) = passkey(200);
    assert_eq!(
        envelope.with_passkey(&opened, extra, &prf).err(),
        Some(EnvelopeError::TooManyPasskeys)
    );
    // Another account's (or another envelope's) opened key cannot rewrite this one.
    let other = fixture();
    let other_opened = other.envelope.open(&other.by_password()).unwrap();
    assert_eq!(
        f.envelope.with_recovery(&other_opened, &f.code).err(),
        Some(EnvelopeError::OtherEnvelope)
    );
}

#[test]
fn a_passkey_the_format_cannot_hold_is_refused_when_added() {
    let f = fixture();
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let (good, prf) = passkey(1);
    let refused = [
        ("credential", vec![], good.name.clone()),
        (
            "credential",
            vec![7; MAX_CREDENTIAL_BYTES + 1],
            good.name.clone(),
        ),
        (
            "name",
            good.credential.clone(),
            "n".repeat(MAX_PASSKEY_NAME_BYTES + 1),
        ),
        ("name", good.credential.clone(), "tab\there".into()),
    ];
    for (field, credential, name) in refused {
        let info = PasskeyInfo {
            credential,
            name,
            ..good.clone()
        };
        assert_eq!(
            f.envelope.with_passkey(&opened, info, &prf).err(),
            Some(EnvelopeError::Malformed(field))
        );
    }
    let longest = PasskeyInfo {
        credential: vec![7; MAX_CREDENTIAL_BYTES],
        name: "é".repeat(MAX_PASSKEY_NAME_BYTES / 2),
        ..good
    };
    let envelope = f
        .envelope
        .with_passkey(&opened, longest.clone(), &prf)
        .unwrap();
    assert_eq!(envelope.passkeys(), vec![longest]);
}

/// What a server holding the backup could try. Each is noticed at the next unlock, by every way
/// of unlocking, with an error that says the backup was altered rather than "wrong password".
#[test]
fn a_hostile_server_cannot_change_the_slots_unnoticed() {
    let f = fixture();
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let (info, prf) = passkey(7);
    let full = f
        .envelope
        .with_passkey(&opened, info.clone(), &prf)
        .unwrap();
    let by_passkey = Unlock::Passkey {
        credential: &info.credential,
        prf_output: &prf,
    };
    // The same account's envelope from another signup (another id and data key).
    let (twin, twin_opened) = SlotEnvelope::create(
        &f.secret,
        &f.password,
        &f.entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .unwrap();
    let twin = twin.with_recovery(&twin_opened, &f.code).unwrap();
    // Another account's envelope, same password and entropy.
    let stranger = AccountSecret::generate();
    let (foreign, _) = SlotEnvelope::create(
        &stranger,
        &f.password,
        &f.entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .unwrap();

    type Tamper = Box<dyn Fn(&mut SlotEnvelope)>;
    let removed_recovery: Tamper =
        Box::new(|e| e.slots.retain(|s| !matches!(s, Slot::Recovery { .. })));
    let removed_passkey: Tamper =
        Box::new(|e| e.slots.retain(|s| !matches!(s, Slot::Passkey { .. })));
    let reordered: Tamper = Box::new(|e| e.slots.swap(1, 2));
    let rolled_rev: Tamper = Box::new(|e| e.rev -= 1);
    let raised_rev: Tamper = Box::new(|e| e.rev += 1);
    let renamed: Tamper = Box::new(|e| {
        if let Some(Slot::Passkey { name, .. }) = e.slots.last_mut() {
            *name = "Attacker's key".into();
        }
    });
    let twin_recovery = twin.slots[1].clone();
    let moved_in: Tamper = Box::new(move |e| e.slots[1] = twin_recovery.clone());
    let foreign_password = foreign.slots[0].clone();
    let foreign_slot: Tamper = Box::new(move |e| e.slots[0] = foreign_password.clone());
    let new_id: Tamper = Box::new(|e| e.id = "ab".repeat(16));
    let altered_vault: Tamper = Box::new(|e| e.ciphertext = flip_hex(&e.ciphertext, 0));

    // (what, tamper, error for the password, for the recovery code, for the passkey)
    let altered = Some(EnvelopeError::SlotsAltered);
    let wrong_pw = Some(EnvelopeError::WrongPasswordOrTampered);
    let wrong_code = Some(EnvelopeError::WrongRecoveryCode);
    let refused = Some(EnvelopeError::PasskeyRefused);
    let no_code = Some(EnvelopeError::NoSlot(SlotKind::Recovery));
    let no_passkey = Some(EnvelopeError::NoSlot(SlotKind::Passkey));
    let cases: Vec<(&str, Tamper, [Option<EnvelopeError>; 3])> = vec![
        (
            "recovery slot removed",
            removed_recovery,
            [altered.clone(), no_code, altered.clone()],
        ),
        (
            "passkey slot removed",
            removed_passkey,
            [altered.clone(), altered.clone(), no_passkey],
        ),
        (
            "slots reordered",
            reordered,
            [altered.clone(), altered.clone(), altered.clone()],
        ),
        (
            "revision rolled back",
            rolled_rev,
            [altered.clone(), altered.clone(), altered.clone()],
        ),
        (
            "revision raised",
            raised_rev,
            [altered.clone(), altered.clone(), altered.clone()],
        ),
        (
            "passkey renamed",
            renamed,
            [altered.clone(), altered.clone(), refused.clone()],
        ),
        (
            "slot from another envelope of this account",
            moved_in,
            [altered.clone(), wrong_code.clone(), altered.clone()],
        ),
        (
            "slot from another account",
            foreign_slot,
            [wrong_pw.clone(), altered.clone(), altered.clone()],
        ),
        (
            "envelope id changed",
            new_id,
            [wrong_pw, wrong_code, refused],
        ),
        (
            "vault ciphertext changed",
            altered_vault,
            [altered.clone(), altered.clone(), altered],
        ),
    ];
    for (what, tamper, expected) in cases {
        let mut envelope = full.clone();
        tamper(&mut envelope);
        let unlocks = [
            f.by_password(),
            Unlock::Recovery(&f.code),
            by_passkey_again(&by_passkey),
        ];
        for (unlock, expected) in unlocks.iter().zip(expected) {
            assert_eq!(envelope.open(unlock).err(), expected, "{what}: {unlock:?}");
        }
    }
}

fn by_passkey_again<'a>(unlock: &Unlock<'a>) -> Unlock<'a> {
    match unlock {
        Unlock::Passkey {
            credential,
            prf_output,
        } => Unlock::Passkey {
            credential,
            prf_output,
        },
        _ => unreachable!("a passkey unlock"),
    }
}

/// A server cannot weaken the password slot, drop the password, or hand a device back an older
/// backup than the one it has seen.
#[test]
fn downgrades_are_refused_or_detected() {
    let f = fixture();
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let current = BackupEnvelope::Slots(f.envelope.clone());

    let mut weaker = f.envelope.clone();
    if let Slot::Password { kdf, .. } = &mut weaker.slots[0] {
        kdf.t += 1;
    }
    assert_eq!(
        weaker.open(&f.by_password()).err(),
        Some(EnvelopeError::WrongPasswordOrTampered)
    );
    let mut below_floor = f.envelope.clone();
    if let Slot::Password { kdf, .. } = &mut below_floor.slots[0] {
        kdf.m_kib = KdfParams::FLOOR.m_kib - 1;
    }
    assert!(matches!(
        below_floor.validate(),
        Err(EnvelopeError::KdfParamsOutOfRange(_))
    ));

    let mut no_password = f.envelope.clone();
    no_password.slots.remove(0);
    assert_eq!(
        no_password.validate().err(),
        Some(EnvelopeError::Malformed("slots"))
    );

    let newer = f
        .envelope
        .with_recovery(&opened, &RecoveryCode::generate())
        .unwrap();
    let newer = BackupEnvelope::Slots(newer);
    assert!(current.is_rollback_of(&newer), "an earlier revision");
    assert!(!newer.is_rollback_of(&current));
    let old_version = vectors_of(2).remove(0).envelope;
    assert!(old_version.is_rollback_of(&current), "an earlier version");
}

#[test]
fn a_server_stores_only_version_3_with_the_announced_cost() {
    let f = fixture();
    let account = f.secret.public_key();
    let envelope = BackupEnvelope::Slots(f.envelope.clone());
    assert_eq!(envelope.check_upload(&account, &KdfParams::FLOOR), Ok(()));
    assert_eq!(
        envelope.check_upload(&account, &KdfParams::DEFAULT),
        Err(BackupProblem::WeakKdf)
    );
    let someone = Keys::generate().public_key();
    assert_eq!(
        envelope.check_upload(&someone, &KdfParams::FLOOR),
        Err(BackupProblem::ForeignKey)
    );
    let old = vectors_of(2).remove(0).envelope;
    let old_account = old.validate().unwrap();
    assert_eq!(
        old.check_upload(&old_account, &KdfParams::FLOOR),
        Err(BackupProblem::OutdatedVersion)
    );
}

#[test]
fn envelope_json_is_stable_and_strict() {
    let v = &vectors_of(3)[1];
    let json = serde_json::to_value(&v.envelope).expect("json");
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["ciphertext", "id", "nonce", "pubkey", "rev", "slots", "v"]
    );
    let kinds: Vec<&str> = json["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["password", "recovery", "passkey"]);

    // Members of one version are refused in the other; unknown members anywhere are refused.
    let refused = [
        ("/extra", serde_json::json!(1)),
        ("/kdf", serde_json::json!(KdfParams::FLOOR)),
        ("/slots/0/extra", serde_json::json!(1)),
        ("/slots/1/kind", serde_json::json!("backdoor")),
    ];
    for (pointer, value) in refused {
        let mut changed = json.clone();
        let (parent, member) = pointer.rsplit_once('/').unwrap();
        changed.pointer_mut(parent).unwrap()[member] = value;
        assert!(
            serde_json::from_value::<BackupEnvelope>(changed).is_err(),
            "{pointer}"
        );
    }
    let mut without_slots = json.clone();
    without_slots.as_object_mut().unwrap().remove("slots");
    assert!(serde_json::from_value::<BackupEnvelope>(without_slots).is_err());
    let old = serde_json::to_value(&vectors_of(2)[0].envelope).unwrap();
    let mut old_with_slots = old.clone();
    old_with_slots["slots"] = serde_json::json!([]);
    assert!(serde_json::from_value::<BackupEnvelope>(old_with_slots).is_err());
    // A repeated member is refused, not silently taken twice.
    let text = serde_json::to_string(&v.envelope).unwrap();
    let repeated = text.replacen("{\"v\":3,", "{\"v\":3,\"v\":3,", 1);
    assert!(serde_json::from_str::<BackupEnvelope>(&repeated).is_err());
}

/// Hex must be lowercase and every length exact: a second spelling of the same bytes would be a
/// second backup to the server.
#[test]
fn malformed_members_are_named() {
    let f = fixture();
    let (info, prf) = passkey(3);
    let opened = f.envelope.open(&f.by_password()).unwrap();
    let full = f.envelope.with_passkey(&opened, info, &prf).unwrap();
    type Break = fn(&mut SlotEnvelope);
    let cases: [(&str, Break); 8] = [
        ("pubkey", |e| e.pubkey = e.pubkey.to_uppercase()),
        ("id", |e| e.id.truncate(30)),
        ("nonce", |e| e.nonce = e.nonce.to_uppercase()),
        ("ciphertext", |e| e.ciphertext.push_str("00")),
        ("rev", |e| e.rev = 0),
        ("wrapped", |e| {
            if let Slot::Recovery { wrapped, .. } = &mut e.slots[1] {
                wrapped.truncate(94);
            }
        }),
        ("credential", |e| {
            if let Slot::Passkey { credential, .. } = &mut e.slots[2] {
                *credential = "ab".repeat(129);
            }
        }),
        ("name", |e| {
            if let Slot::Passkey { name, .. } = &mut e.slots[2] {
                *name = "line\nbreak".into();
            }
        }),
    ];
    for (field, change) in cases {
        let mut broken = full.clone();
        change(&mut broken);
        assert_eq!(
            broken.validate().err(),
            Some(EnvelopeError::Malformed(field)),
            "{field}"
        );
    }
}
