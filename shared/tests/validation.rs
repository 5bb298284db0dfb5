//! Request validation rules and the request/reply round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use sigil_shared::dvm::{self, OpenRequestError, ReplyError, RequestDraft, ServerKeys};
use sigil_shared::error::{ErrorBody, ErrorCode, RejectCode};
use sigil_shared::method::{CodeSent, Reply, Request};
use sigil_shared::nostr::event::{Event, EventBuilder, FinalizeEvent, Kind, Tag, UnsignedEvent};
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::{CheckedRequest, Policy, check_request};

const DIFFICULTY: u8 = 8;

struct Setup {
    server: ServerKeys,
    client: Keys,
    policy: Policy,
    now: Timestamp,
}

fn setup() -> Setup {
    let server = Keys::generate();
    let policy = Policy {
        server: server.public_key(),
        min_difficulty: DIFFICULTY,
        window_secs: 300,
        max_bytes: 16 * 1024,
    };
    Setup {
        server: ServerKeys::new(server),
        client: Keys::generate(),
        policy,
        now: Timestamp::now(),
    }
}

fn request() -> Request {
    Request::RequestCode {
        email: "alice@example.org".into(),
    }
}

fn sealed(s: &Setup, difficulty: u8, created_at: Timestamp) -> Event {
    dvm::seal_request(
        &s.client,
        &s.server.public_key(),
        &request(),
        difficulty,
        created_at,
    )
    .expect("seal")
}

fn check(s: &Setup, event: &Event) -> Result<CheckedRequest, RejectCode> {
    check_request(event.as_json().as_bytes(), &s.policy, s.now)
}

#[test]
fn a_well_formed_request_passes_and_decrypts() {
    let s = setup();
    let event = sealed(&s, DIFFICULTY, s.now);
    let checked = check(&s, &event).expect("valid");
    assert_eq!(
        dvm::Exchange::new(&s.server, &checked).open(),
        Ok(request())
    );
}

#[test]
fn each_broken_rule_has_its_own_code() {
    let s = setup();
    let good = sealed(&s, DIFFICULTY, s.now);
    let mut bad_sig: serde_json::Value = serde_json::from_str(&good.as_json()).expect("json");
    let sig = bad_sig["sig"].as_str().expect("sig").to_owned();
    bad_sig["sig"] = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    )
    .into();
    let mut bad_id: serde_json::Value = serde_json::from_str(&good.as_json()).expect("json");
    bad_id["content"] = "tampered".into();
    let other_server = Keys::generate().public_key();
    let misaddressed =
        dvm::seal_request(&s.client, &other_server, &request(), DIFFICULTY, s.now).expect("seal");
    let wrong_kind = EventBuilder::new(Kind::from(1), "hi")
        .tag(Tag::public_key(s.server.public_key()))
        .finalize(&s.client)
        .expect("sign");

    let cases: Vec<(&str, Vec<u8>, RejectCode)> = vec![
        (
            "oversize",
            vec![b' '; 16 * 1024 + 1],
            RejectCode::PayloadTooLarge,
        ),
        (
            "not json",
            b"{not json".to_vec(),
            RejectCode::MalformedEvent,
        ),
        (
            "json but not an event",
            br#"{"kind":25910}"#.to_vec(),
            RejectCode::MalformedEvent,
        ),
        (
            "wrong kind",
            wrong_kind.as_json().into_bytes(),
            RejectCode::WrongKind,
        ),
        (
            "other server",
            misaddressed.as_json().into_bytes(),
            RejectCode::WrongRecipient,
        ),
        (
            "too old",
            sealed(&s, DIFFICULTY, Timestamp::from_secs(s.now.as_secs() - 301))
                .as_json()
                .into_bytes(),
            RejectCode::StaleEvent,
        ),
        (
            "from the future",
            sealed(&s, DIFFICULTY, Timestamp::from_secs(s.now.as_secs() + 301))
                .as_json()
                .into_bytes(),
            RejectCode::StaleEvent,
        ),
        (
            "too little work",
            sealed(&s, DIFFICULTY - 1, s.now).as_json().into_bytes(),
            RejectCode::InsufficientPow,
        ),
        (
            "changed content",
            bad_id.to_string().into_bytes(),
            RejectCode::InvalidId,
        ),
        (
            "bad signature",
            bad_sig.to_string().into_bytes(),
            RejectCode::InvalidSignature,
        ),
    ];
    for (name, body, expected) in cases {
        assert_eq!(
            check_request(&body, &s.policy, s.now).err(),
            Some(expected),
            "{name}"
        );
    }
}

#[test]
fn a_target_below_the_minimum_is_refused_even_if_the_id_happens_to_meet_it() {
    let s = setup();
    // Commit to a low target but mine far more: the committed target is what counts (NIP-13).
    let draft = RequestDraft::new(
        &s.client,
        &s.server.public_key(),
        &request(),
        DIFFICULTY - 4,
        s.now,
    )
    .expect("draft");
    let miner = sigil_shared::pow::Miner::new(
        &draft.pubkey,
        draft.created_at,
        Kind::from(25910),
        &draft.tags,
        &draft.content,
        DIFFICULTY + 2,
    )
    .expect("miner");
    let (offset, _) = miner.search(0, u64::MAX).expect("nonce");
    let nonce = sigil_shared::pow::nonce_at(offset);
    let event = draft.finish(&s.client, nonce).expect("finish");
    assert_eq!(check(&s, &event).err(), Some(RejectCode::InsufficientPow));
}

#[test]
fn content_for_another_key_or_garbage_is_reported() {
    let s = setup();
    let event = sealed(&s, DIFFICULTY, s.now);
    let stranger = ServerKeys::new(Keys::generate());
    let checked = CheckedRequest::verify(event.clone()).expect("signed");
    assert_eq!(
        dvm::Exchange::new(&stranger, &checked).open(),
        Err(OpenRequestError::Undecryptable)
    );
    for garbage in ["", "#AQ==", "not base64!", "AQID", &"A".repeat(200)] {
        // Signed by the client, so only the content is wrong.
        let tampered = UnsignedEvent::new(
            event.pubkey,
            event.created_at,
            event.kind,
            event.tags.clone().to_vec(),
            garbage,
        )
        .finalize(&s.client)
        .expect("sign");
        let checked = CheckedRequest::verify(tampered).expect("signed");
        assert_eq!(
            dvm::Exchange::new(&s.server, &checked).open(),
            Err(OpenRequestError::Undecryptable),
            "{garbage:?}"
        );
    }
}

#[test]
fn replies_are_bound_to_server_recipient_and_request() {
    let s = setup();
    let request_event = sealed(&s, DIFFICULTY, s.now);
    let reply = Reply::ok(&CodeSent {
        expires_in: 600,
        resend_after: 60,
    })
    .expect("reply");
    // The client opens it with nostr's own NIP-44, so this also checks the two agree.
    let checked = CheckedRequest::verify(request_event.clone()).expect("signed");
    let reply_event = dvm::Exchange::new(&s.server, &checked)
        .seal(&reply)
        .expect("seal reply");
    let json = reply_event.as_json();

    let opened =
        dvm::open_reply(&s.client, &s.server.public_key(), &request_event.id, &json).expect("open");
    assert_eq!(opened, reply);

    let impostor = ServerKeys::new(Keys::generate());
    let forged = dvm::Exchange::new(&impostor, &checked)
        .seal(&reply)
        .expect("forge")
        .as_json();
    let other_request = sealed(&s, DIFFICULTY, s.now);
    let cases = [
        (
            "signed by another key",
            dvm::open_reply(
                &s.client,
                &s.server.public_key(),
                &request_event.id,
                &forged,
            ),
        ),
        (
            "replayed for a later request",
            dvm::open_reply(&s.client, &s.server.public_key(), &other_request.id, &json),
        ),
        (
            "meant for someone else",
            dvm::open_reply(
                &Keys::generate(),
                &s.server.public_key(),
                &request_event.id,
                &json,
            ),
        ),
        (
            "not json",
            dvm::open_reply(&s.client, &s.server.public_key(), &request_event.id, "nope"),
        ),
    ];
    let expected = [
        ReplyError::NotFromServer,
        ReplyError::WrongRequest,
        ReplyError::NotForUs,
        ReplyError::Malformed,
    ];
    for ((name, result), want) in cases.into_iter().zip(expected) {
        assert_eq!(result, Err(want), "{name}");
    }
}

#[test]
fn error_replies_round_trip_with_their_details() {
    let body = ErrorBody::new(ErrorCode::VersionConflict).current_version(7);
    let json = serde_json::to_string(&Reply::Error(body.clone())).expect("json");
    assert!(json.contains(r#""code":"version_conflict""#), "{json}");
    let back: Reply = serde_json::from_str(&json).expect("parse");
    assert_eq!(back.into_result::<CodeSent>().expect("shape"), Err(body));
}

#[test]
fn requests_serialise_with_the_method_inside() {
    let json = serde_json::to_value(request()).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"method": "request_code", "params": {"email": "alice@example.org"}})
    );
    let empty: Request =
        serde_json::from_str(r#"{"method":"get_backup","params":{}}"#).expect("parse");
    assert_eq!(empty, Request::GetBackup { version: None });
}
