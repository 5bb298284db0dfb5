//! What the vault answers to a request it may answer (its permission already settled): computed
//! with the account's key, which never leaves the vault worker. `connect` is checked against the
//! connection's one-time secret here too.

use sigil_shared::nostr::event::{FinalizeEvent, Kind, Tag, UnsignedEvent};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::nips::{nip04, nip44};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::AccountSecret;

use super::request::{Call, EventTemplate, Scheme};
use crate::worker_api::Private;

/// Why a request gets an error instead of a result. The text goes back to the app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("unknown method: {0}")]
    UnknownMethod(String),
    #[error("this connection is for another signer key")]
    WrongSigner,
    #[error("wrong or used connection secret")]
    WrongSecret,
    #[error("the event names another author")]
    ForeignAuthor,
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error("encryption failed: {0}")]
    Crypto(String),
}

/// Checks a `connect` against the connection: it must name this vault's key and, while the
/// connection still holds its one-time secret, present it; the secret is then used up, so it
/// cannot connect a second app.
pub fn check_connect(
    call: &Call,
    account: &AccountSecret,
    secret: &mut Option<Private>,
) -> Result<(), AnswerError> {
    let Call::Connect {
        signer,
        secret: presented,
        ..
    } = call
    else {
        return Ok(());
    };
    if signer.is_some_and(|signer| signer != account.public_key()) {
        return Err(AnswerError::WrongSigner);
    }
    match secret.as_deref() {
        None => Ok(()),
        Some(expected) if presented.as_deref() == Some(expected) => {
            *secret = None;
            Ok(())
        }
        Some(_) => Err(AnswerError::WrongSecret),
    }
}

/// The result string of an allowed call. `relays` answers `switch_relays`.
pub fn answer(
    call: &Call,
    account: &AccountSecret,
    relays: &[String],
) -> Result<String, AnswerError> {
    let keys = account.keys();
    let crypto = |e: &dyn std::fmt::Display| AnswerError::Crypto(e.to_string());
    match call {
        Call::Connect { .. } | Call::Logout => Ok("ack".into()),
        Call::GetPublicKey => Ok(account.public_key().to_hex()),
        Call::Ping => Ok("pong".into()),
        Call::SwitchRelays => Ok(serde_json::to_string(relays).unwrap_or_else(|_| "null".into())),
        Call::SignEvent(template) => sign(template, account),
        Call::Encrypt {
            scheme: Scheme::Nip44,
            peer,
            plaintext,
        } => nip44::encrypt(
            keys.secret_key(),
            peer,
            plaintext.as_bytes(),
            nip44::Version::V2,
        )
        .map_err(|e| crypto(&e)),
        Call::Encrypt {
            scheme: Scheme::Nip04,
            peer,
            plaintext,
        } => nip04::encrypt(keys.secret_key(), peer, plaintext.as_bytes()).map_err(|e| crypto(&e)),
        Call::Decrypt {
            scheme: Scheme::Nip44,
            peer,
            ciphertext,
        } => nip44::decrypt(keys.secret_key(), peer, ciphertext).map_err(|e| crypto(&e)),
        Call::Decrypt {
            scheme: Scheme::Nip04,
            peer,
            ciphertext,
        } => nip04::decrypt(keys.secret_key(), peer, ciphertext.as_str()).map_err(|e| crypto(&e)),
        Call::Unknown(method) => Err(AnswerError::UnknownMethod(method.clone())),
    }
}

/// The template signed by the vault's key, as event JSON.
fn sign(template: &EventTemplate, account: &AccountSecret) -> Result<String, AnswerError> {
    let author = account.public_key();
    if let Some(named) = &template.pubkey
        && PublicKey::from_hex(named).ok() != Some(author)
    {
        return Err(AnswerError::ForeignAuthor);
    }
    let tags = template
        .tags
        .iter()
        .map(Tag::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AnswerError::InvalidEvent(e.to_string()))?;
    let event = UnsignedEvent::new(
        author,
        Timestamp::from_secs(template.created_at),
        Kind::from(template.kind),
        tags,
        template.content.clone(),
    )
    .finalize(account.keys())
    .map_err(|e| AnswerError::InvalidEvent(e.to_string()))?;
    Ok(event.as_json())
}

#[cfg(test)]
mod tests {
    use sigil_shared::event_json::parse_event;
    use sigil_shared::nostr::key::Keys;

    use super::*;
    use crate::signer::request::SignerRequest;

    fn call(method: &str, params: &[&str]) -> Call {
        let json = serde_json::json!({ "id": "1", "method": method, "params": params });
        SignerRequest::parse(&json.to_string()).expect("read").call
    }

    #[test]
    fn a_signed_event_verifies_under_the_vaults_key() {
        let account = AccountSecret::generate();
        let template =
            r#"{"kind":1,"content":"hello","tags":[["t","sigil"]],"created_at":1700000000}"#;
        let json = answer(&call("sign_event", &[template]), &account, &[]).expect("signed");
        let event = parse_event(&json).expect("event JSON");
        event.verify().expect("valid signature");
        assert_eq!(event.pubkey, account.public_key());
        assert_eq!(event.content, "hello");
        assert_eq!(event.created_at.as_secs(), 1_700_000_000);
        let other = Keys::generate().public_key().to_hex();
        let foreign =
            format!(r#"{{"kind":1,"content":"x","tags":[],"created_at":1,"pubkey":"{other}"}}"#);
        assert_eq!(
            answer(&call("sign_event", &[&foreign]), &account, &[]),
            Err(AnswerError::ForeignAuthor)
        );
    }

    #[test]
    fn encryption_round_trips_with_the_peer_for_both_schemes() {
        let account = AccountSecret::generate();
        let peer = Keys::generate();
        for (encrypt, decrypt) in [
            ("nip44_encrypt", "nip44_decrypt"),
            ("nip04_encrypt", "nip04_decrypt"),
        ] {
            let to_peer = peer.public_key().to_hex();
            let sealed =
                answer(&call(encrypt, &[&to_peer, "secret note"]), &account, &[]).expect(encrypt);
            // The peer opens it with its own key...
            let opened = if encrypt.starts_with("nip44") {
                nip44::decrypt(peer.secret_key(), &account.public_key(), &sealed).ok()
            } else {
                nip04::decrypt(peer.secret_key(), &account.public_key(), sealed.as_str()).ok()
            };
            assert_eq!(opened.as_deref(), Some("secret note"), "{encrypt}");
            // ...and the vault opens what it sealed.
            let back = answer(&call(decrypt, &[&to_peer, &sealed]), &account, &[]).expect(decrypt);
            assert_eq!(back, "secret note");
        }
    }

    #[test]
    fn simple_calls_and_unknown_methods_are_answered() {
        let account = AccountSecret::generate();
        let relays = vec!["wss://relay.example".to_owned()];
        assert_eq!(
            answer(&call("ping", &[]), &account, &relays).as_deref(),
            Ok("pong")
        );
        assert_eq!(
            answer(&call("get_public_key", &[]), &account, &relays),
            Ok(account.public_key().to_hex())
        );
        assert_eq!(
            answer(&call("switch_relays", &[]), &account, &relays).as_deref(),
            Ok(r#"["wss://relay.example"]"#)
        );
        assert_eq!(
            answer(&call("sign_message", &[]), &account, &relays),
            Err(AnswerError::UnknownMethod("sign_message".into()))
        );
    }

    #[test]
    fn a_connect_needs_this_key_and_the_unused_secret() {
        let account = AccountSecret::generate();
        let me = account.public_key().to_hex();
        let mut secret = Some(Private("one-time".to_owned()));
        let wrong = call("connect", &[&me, "guess"]);
        assert_eq!(
            check_connect(&wrong, &account, &mut secret),
            Err(AnswerError::WrongSecret)
        );
        let other = Keys::generate().public_key().to_hex();
        assert_eq!(
            check_connect(
                &call("connect", &[&other, "one-time"]),
                &account,
                &mut secret
            ),
            Err(AnswerError::WrongSigner)
        );
        let right = call("connect", &[&me, "one-time"]);
        assert_eq!(check_connect(&right, &account, &mut secret), Ok(()));
        assert_eq!(secret, None, "used up");
        // NDK names no signer key when it does not know it yet: the secret decides.
        let mut secret = Some(Private("second".to_owned()));
        let unnamed = call("connect", &["", "second"]);
        assert_eq!(check_connect(&unnamed, &account, &mut secret), Ok(()));
        // The same secret again (another app that saw the URI) is not accepted once used up:
        // the caller keeps connections per app, and a new app needs a new bunker URI.
    }
}
