//! The protocol's known answers (`vectors/protocol-v3.json`, referenced from docs/protocol.md):
//! one request and its reply, with fixed keys, times, NIP-44 nonces and signing randomness, so a
//! second implementation can check its conversation key, padding, encryption, nonce tag, id and
//! signature byte for byte. `e2e/check-vectors.mjs` checks the same file with nostr-tools.
//!
//! The file is written from this code (`SIGIL_WRITE_VECTORS=1 cargo test -p sigil-shared --test
//! protocol_vectors`) and must not change unless the protocol does.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use sigil_shared::dvm::{Exchange, ServerKeys, open_reply};
use sigil_shared::kinds;
use sigil_shared::method::{CodeSent, Reply, Request};
use sigil_shared::nostr::event::{Event, EventId, Kind, Tag, Tags};
use sigil_shared::nostr::key::{Keys, SecretKey};
use sigil_shared::nostr::nips::nip44::v2::{ConversationKey, encrypt_to_bytes_with_nonce};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::padding::{REPLY_LEN, REQUEST_LEN, pad};
use sigil_shared::pow::{Miner, nonce_tag};
use sigil_shared::validation::{Policy, check_request};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/protocol-v3.json"
);
const DIFFICULTY: u8 = 8;

fn keys(byte: u8) -> Keys {
    Keys::new(SecretKey::from_slice(&[byte; 32]).unwrap())
}

/// Signs `id` with BIP-340's auxiliary randomness fixed at zero, so the signature is a known
/// answer too (real clients and servers use fresh randomness).
fn sign(keys: &Keys, id: &EventId) -> sigil_shared::nostr::event::Signature {
    let secp = secp256k1::Secp256k1::new();
    keys.sign_schnorr_with_aux_rand(&secp, id.as_bytes(), &[0; 32])
}

fn event(keys: &Keys, created_at: u64, kind: u16, tags: Vec<Tag>, content: String) -> Event {
    let (pubkey, created_at, kind) = (
        keys.public_key(),
        Timestamp::from(created_at),
        Kind::from(kind),
    );
    let tags = Tags::from_list(tags);
    let id = EventId::compute(&pubkey, &created_at, &kind, &tags, &content);
    Event::new(id, pubkey, created_at, kind, tags, content, sign(keys, &id))
}

fn encrypt(conversation: &ConversationKey, plaintext: &str, nonce: [u8; 32]) -> String {
    BASE64.encode(encrypt_to_bytes_with_nonce(conversation, plaintext.as_bytes(), nonce).unwrap())
}

fn vector() -> Value {
    let (client, server) = (keys(0x11), keys(0x22));
    let conversation = ConversationKey::derive(client.secret_key(), &server.public_key()).unwrap();

    let request = Request::RequestCode {
        email: "alice@example.org".into(),
    };
    let request_plaintext = pad(serde_json::to_string(&request).unwrap(), REQUEST_LEN).unwrap();
    let request_nonce = [0x33; 32];
    let content = encrypt(&conversation, &request_plaintext, request_nonce);
    let created_at = 1_800_000_000;
    let p_tag = Tag::public_key(server.public_key());
    let miner = Miner::new(
        &client.public_key(),
        Timestamp::from(created_at),
        kinds::request(),
        &Tags::from_list(vec![p_tag.clone()]),
        &content,
        DIFFICULTY,
    )
    .unwrap();
    let (offset, _) = miner.search(0, u64::MAX).unwrap();
    let nonce = sigil_shared::pow::nonce_at(offset);
    let request_event = event(
        &client,
        created_at,
        kinds::REQUEST,
        vec![p_tag, nonce_tag(nonce, DIFFICULTY)],
        content,
    );

    let reply = Reply::ok(&CodeSent {
        expires_in: 600,
        resend_after: 60,
    })
    .unwrap();
    let reply_plaintext = pad(serde_json::to_string(&reply).unwrap(), REPLY_LEN).unwrap();
    let reply_nonce = [0x44; 32];
    let reply_event = event(
        &server,
        created_at + 1,
        kinds::REPLY,
        vec![
            Tag::public_key(client.public_key()),
            Tag::event(request_event.id),
        ],
        encrypt(&conversation, &reply_plaintext, reply_nonce),
    );

    json!({
        "description": "One request_code and its reply. Signatures use BIP-340 auxiliary randomness of 32 zero bytes. nonce_tags: nonce tags and the committed target each gives, or null for a tag a server refuses.",
        "nonce_tags": nonce_tag_cases(),
        "client_secret_key": client.secret_key().to_secret_hex(),
        "client_pubkey": client.public_key().to_hex(),
        "server_secret_key": server.secret_key().to_secret_hex(),
        "server_pubkey": server.public_key().to_hex(),
        "conversation_key": hex::encode(conversation.as_bytes()),
        "request": {
            "plaintext": request_plaintext,
            "nip44_nonce": hex::encode(request_nonce),
            "difficulty": DIFFICULTY,
            "event": serde_json::from_str::<Value>(&request_event.as_json()).unwrap(),
        },
        "reply": {
            "plaintext": reply_plaintext,
            "nip44_nonce": hex::encode(reply_nonce),
            "event": serde_json::from_str::<Value>(&reply_event.as_json()).unwrap(),
        },
    })
}

/// Nonce tags with the committed target the specification gives each (null: refused). Written
/// here by hand, from the specification, not computed by the code under test.
fn nonce_tag_cases() -> Value {
    json!([
        { "tag": ["nonce", "1000000000403", "8"], "target": 8 },
        { "tag": ["nonce", "0", "0"], "target": 0 },
        { "tag": ["nonce", "18446744073709551615", "255"], "target": 255 },
        { "tag": ["nonce", "18446744073709551616", "16"], "target": null },
        { "tag": ["nonce", "0123", "16"], "target": null },
        { "tag": ["nonce", "+123", "16"], "target": null },
        { "tag": ["nonce", "123", "016"], "target": null },
        { "tag": ["nonce", "123", "256"], "target": null },
        { "tag": ["nonce", "12a", "16"], "target": null },
        { "tag": ["nonce", "123"], "target": null },
        { "tag": ["nonce", "123", "16", "extra"], "target": null },
    ])
}

#[test]
fn the_nonce_tag_rules_give_the_documented_targets() {
    let cases = nonce_tag_cases();
    for case in cases.as_array().unwrap() {
        let tag: Vec<String> = serde_json::from_value(case["tag"].clone()).unwrap();
        let expected = case["target"].as_u64().map(|t| u8::try_from(t).unwrap());
        let tags = Tags::from_list(vec![Tag::parse(tag.clone()).unwrap()]);
        assert_eq!(
            sigil_shared::pow::committed_target(&tags),
            expected,
            "{tag:?}"
        );
    }
}

#[test]
fn the_protocol_vectors_are_what_this_code_makes_and_reads() {
    let made = vector();
    if std::env::var_os("SIGIL_WRITE_VECTORS").is_some() {
        std::fs::write(FILE, serde_json::to_string_pretty(&made).unwrap() + "\n").unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap();
    assert_eq!(made, stored, "the vectors changed; the protocol must not");

    // The server's checks pass at the request's own time, and it reads the request.
    let server = ServerKeys::new(keys(0x22));
    let request_json = stored["request"]["event"].to_string();
    let policy = Policy {
        server: server.public_key(),
        min_difficulty: DIFFICULTY,
        window_secs: 300,
        max_bytes: 65_536,
    };
    let checked = check_request(
        request_json.as_bytes(),
        &policy,
        Timestamp::from(1_800_000_000),
    )
    .unwrap();
    assert_eq!(
        Exchange::new(&server, &checked).open().unwrap(),
        Request::RequestCode {
            email: "alice@example.org".into()
        }
    );
    // The client reads the reply to it.
    let request_id = checked.event().id;
    let reply = open_reply(
        &keys(0x11),
        &server.public_key(),
        &request_id,
        &stored["reply"]["event"].to_string(),
    )
    .unwrap();
    let sent: CodeSent = reply.into_result().unwrap().unwrap();
    assert_eq!(sent.expires_in, 600);
}
