//! docs/protocol.md cannot drift from the code: every JSON example in it is parsed into the type
//! the code uses (and checked where it can be), its events equal the known answers, and every
//! error code, refusal and backup problem the code defines is in its tables.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use serde_json::Value;
use sigil_shared::dvm::verify_key_proof;
use sigil_shared::envelope::BackupEnvelope;
use sigil_shared::error::{BackupProblem, ErrorCode, RejectBody, RejectCode};
use sigil_shared::event_json::parse_event;
use sigil_shared::info::{PROTOCOL_VERSION, ServerInfo};
use sigil_shared::method::{
    AccountDeleted, BackupRecord, BackupStored, BackupVersions, CodeSent, Reply, Request, Verified,
};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::padding::{REPLY_LEN, REQUEST_LEN};

const DOC: &str = include_str!("../../docs/protocol.md");

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/protocol-v3.json")).unwrap()
}

/// The document's JSON examples: (label after "```json", text).
fn examples() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = DOC.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("```json") else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        found.push((label.trim().to_owned(), body.join("\n")));
    }
    found
}

fn json_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn every_json_example_parses_into_its_type() {
    let vectors = vectors();
    let examples = examples();
    assert!(examples.len() >= 20, "{} examples", examples.len());
    for (label, text) in &examples {
        let words: Vec<&str> = label.split_whitespace().collect();
        let context = format!("example `{label}`:\n{text}");
        match words.as_slice() {
            ["well-known"] => {
                let info: ServerInfo = serde_json::from_str(text).expect(&context);
                assert_eq!(info.protocol_version, PROTOCOL_VERSION, "{context}");
                let key = info.validate().expect(&context);
                assert_eq!(key.to_hex(), vectors["server_pubkey"], "{context}");
            }
            ["event-request"] => {
                parse_event(text).expect(&context);
                let value: Value = serde_json::from_str(text).unwrap();
                assert_eq!(value, vectors["request"]["event"], "{context}");
            }
            ["key-proof"] => {
                let proof = parse_event(text).expect(&context);
                let session = PublicKey::from_hex(vectors["client_pubkey"].as_str().unwrap());
                let now = Timestamp::from(1_800_000_000);
                assert!(
                    verify_key_proof(text, &proof.pubkey, &session.unwrap(), now, 300),
                    "{context}"
                );
            }
            ["request", method] => {
                let request: Request = serde_json::from_str(text).expect(&context);
                assert_eq!(request.method(), *method, "{context}");
                let compact = serde_json::to_string(&request).unwrap();
                assert!(compact.len() <= REQUEST_LEN, "{context}");
            }
            ["result", method] => {
                let reply: Reply = serde_json::from_str(text).expect(&context);
                let ok = match *method {
                    "request_code" => reply.into_result::<CodeSent>().map(|r| r.is_ok()),
                    "verify_code" => reply.into_result::<Verified>().map(|r| r.is_ok()),
                    "activate" | "update_backup" => {
                        reply.into_result::<BackupStored>().map(|r| r.is_ok())
                    }
                    "get_backup" => reply.into_result::<BackupRecord>().map(|r| r.is_ok()),
                    "list_backups" => reply.into_result::<BackupVersions>().map(|r| r.is_ok()),
                    "delete_account" => reply.into_result::<AccountDeleted>().map(|r| r.is_ok()),
                    other => panic!("no method {other}: {context}"),
                };
                assert!(ok.expect(&context), "{context}");
            }
            ["error", _method] => {
                let reply: Reply = serde_json::from_str(text).expect(&context);
                assert!(matches!(reply, Reply::Error(_)), "{context}");
            }
            ["reject"] => {
                let _: RejectBody = serde_json::from_str(text).expect(&context);
            }
            ["envelope"] => {
                let envelope: BackupEnvelope = serde_json::from_str(text).expect(&context);
                envelope.validate().expect(&context);
                assert!(!envelope.is_outdated(), "{context}");
            }
            _ => panic!("unknown example label: {context}"),
        }
    }
}

/// Every variant of an enum, listed once. The match makes a variant left out a compile error
/// here, and then the test fails until the document has it.
macro_rules! every {
    ($enum:ident: $($variant:ident),+ $(,)?) => {{
        fn listed(value: &$enum) {
            match value {
                $($enum::$variant)|+ => {}
            }
        }
        let all = vec![$($enum::$variant),+];
        all.iter().for_each(listed);
        all
    }};
}

fn all_error_codes() -> Vec<ErrorCode> {
    every!(ErrorCode: InvalidRequest, InvalidEmail, RateLimited, KeyRateLimited, InvalidCode,
        CodeExpired, TooManyAttempts, NotVerified, AccountExists, UnknownAccount, InvalidProof,
        InvalidBackup, VersionConflict, UnknownVersion, WrongSigner, MailFailed, Internal)
}

fn all_reject_codes() -> Vec<RejectCode> {
    every!(RejectCode: PayloadTooLarge, MalformedEvent, WrongKind, WrongRecipient, StaleEvent,
        InvalidId, InsufficientPow, InvalidSignature, Replayed, Undecryptable, Unavailable)
}

fn all_backup_problems() -> Vec<BackupProblem> {
    every!(BackupProblem: Malformed, OutdatedVersion, WeakKdf, ForeignKey)
}

/// The first cell of each table row of the document, as `code` (backticks removed).
fn table_keys() -> Vec<String> {
    DOC.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_owned()))
        .collect()
}

#[test]
fn every_code_is_in_the_tables() {
    let keys = table_keys();
    let names = all_error_codes()
        .into_iter()
        .map(json_name)
        .chain(all_reject_codes().into_iter().map(json_name))
        .chain(all_backup_problems().into_iter().map(json_name));
    for name in names {
        assert!(
            keys.contains(&name),
            "docs/protocol.md has no row for `{name}`"
        );
    }
}

#[test]
fn the_documented_numbers_are_the_codes() {
    assert!(DOC.starts_with(&format!("# Sigil protocol, version {PROTOCOL_VERSION}\n")));
    assert_eq!(REQUEST_LEN, REPLY_LEN, "the document gives one padded size");
    assert!(DOC.contains(&format!("exactly **{REQUEST_LEN} bytes**")));
    for kind in [
        sigil_shared::kinds::REQUEST,
        sigil_shared::kinds::REPLY,
        sigil_shared::kinds::KEY_PROOF,
    ] {
        assert!(DOC.contains(&format!("(kind {kind})")), "kind {kind}");
    }
    assert!(DOC.contains(&format!("above {}", sigil_shared::info::MAX_POW_DIFFICULTY)));
    assert!(DOC.contains(&format!("`GET {}`", sigil_shared::info::WELL_KNOWN_PATH)));
    assert!(DOC.contains(&format!("`POST {}`", sigil_shared::info::EVENTS_PATH)));
    let (floor, ceiling) = (
        sigil_shared::envelope::KdfParams::FLOOR,
        sigil_shared::envelope::KdfParams::CEILING,
    );
    assert!(DOC.contains(&format!(
        "(`m_kib` {}, `t` {}, `p` {}",
        floor.m_kib, floor.t, floor.p
    )));
    assert!(DOC.contains(&format!(
        "(`m_kib` {},\n`t` {}, `p` {})",
        ceiling.m_kib, ceiling.t, ceiling.p
    )));
}
