//! The padded sizes hold every request and every reply the protocol can make, at their widest.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use sigil_shared::dvm::sign_key_proof;
use sigil_shared::envelope::{
    BackupEnvelope, KdfParams, MAX_CREDENTIAL_BYTES, MAX_PASSKEY_NAME_BYTES, MAX_PASSKEYS, Slot,
    SlotEnvelope,
};
use sigil_shared::error::{ErrorBody, ErrorCode};
use sigil_shared::method::{BackupRecord, BackupVersion, BackupVersions, Reply, Request, Verified};
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::padding::{REPLY_LEN, REQUEST_LEN};

/// An envelope with every member at its widest: every slot there may be, the widest numbers,
/// the longest credentials, and names whose every byte JSON escapes.
fn widest_backup() -> BackupEnvelope {
    let (nonce, wrapped) = ("f".repeat(48), "f".repeat(96));
    let mut slots = vec![
        Slot::Password {
            kdf: KdfParams::argon2id(u32::MAX, u32::MAX, u32::MAX),
            nonce: nonce.clone(),
            wrapped: wrapped.clone(),
        },
        Slot::Recovery {
            nonce: nonce.clone(),
            wrapped: wrapped.clone(),
        },
    ];
    slots.extend((0..MAX_PASSKEYS).map(|_| Slot::Passkey {
        credential: "f".repeat(2 * MAX_CREDENTIAL_BYTES),
        name: "\"".repeat(MAX_PASSKEY_NAME_BYTES),
        created: u64::MAX,
        prf_salt: "f".repeat(64),
        nonce: nonce.clone(),
        wrapped: wrapped.clone(),
    }));
    BackupEnvelope::Slots(SlotEnvelope {
        v: u8::MAX,
        pubkey: "f".repeat(64),
        id: "f".repeat(32),
        rev: u64::MAX,
        nonce,
        ciphertext: "f".repeat(96),
        slots,
    })
}

fn len(value: &impl serde::Serialize) -> usize {
    serde_json::to_string(value).unwrap().len()
}

#[test]
fn the_largest_request_fits() {
    let (account, session) = (Keys::generate(), Keys::generate());
    // The proof's created_at is at its widest in JSON until the year 2286.
    let proof = sign_key_proof(
        &account,
        &session.public_key(),
        Timestamp::from_secs(9_999_999_999),
    )
    .unwrap();
    let requests = [
        Request::RequestCode {
            // The longest address a client sends (RFC 5321), all of it escaped-free ASCII.
            email: format!("{}@{}.example", "a".repeat(64), "b".repeat(181)),
        },
        Request::VerifyCode {
            code: "999999".into(),
        },
        Request::Activate {
            pubkey: "f".repeat(64),
            backup: widest_backup(),
            proof: proof.as_json(),
        },
        Request::UpdateBackup {
            backup: widest_backup(),
            base_version: u64::MAX,
        },
        Request::GetBackup { version: None },
        Request::DeleteAccount {},
    ];
    let largest = requests.iter().map(len).max().unwrap();
    assert!(largest <= REQUEST_LEN, "{largest} > {REQUEST_LEN}");
    eprintln!("largest request plaintext: {largest} of {REQUEST_LEN} bytes");
}

#[test]
fn the_largest_reply_fits() {
    let mut every_error: Vec<Reply> = ALL_ERRORS
        .iter()
        .map(|code| {
            Reply::Error(
                ErrorBody::new(*code)
                    .retry_after(u64::MAX)
                    .current_version(u64::MAX),
            )
        })
        .collect();
    every_error.push(
        Reply::ok(&Verified::Existing {
            entropy: "f".repeat(64),
            backup: widest_backup(),
            backup_version: u64::MAX,
        })
        .unwrap(),
    );
    every_error.push(
        Reply::ok(&BackupRecord {
            entropy: "f".repeat(64),
            backup: widest_backup(),
            backup_version: u64::MAX,
        })
        .unwrap(),
    );
    // The current version and the three kept before it.
    let version = BackupVersion {
        version: u64::MAX,
        stored_at: u64::MAX,
    };
    every_error.push(
        Reply::ok(&BackupVersions {
            versions: vec![version; 4],
        })
        .unwrap(),
    );
    let largest = every_error.iter().map(len).max().unwrap();
    assert!(largest <= REPLY_LEN, "{largest} > {REPLY_LEN}");
    eprintln!("largest reply plaintext: {largest} of {REPLY_LEN} bytes");
}

const ALL_ERRORS: [ErrorCode; 17] = [
    ErrorCode::InvalidRequest,
    ErrorCode::InvalidEmail,
    ErrorCode::RateLimited,
    ErrorCode::KeyRateLimited,
    ErrorCode::InvalidCode,
    ErrorCode::CodeExpired,
    ErrorCode::TooManyAttempts,
    ErrorCode::NotVerified,
    ErrorCode::AccountExists,
    ErrorCode::UnknownAccount,
    ErrorCode::InvalidProof,
    ErrorCode::InvalidBackup,
    ErrorCode::VersionConflict,
    ErrorCode::UnknownVersion,
    ErrorCode::WrongSigner,
    ErrorCode::MailFailed,
    ErrorCode::Internal,
];
