//! NIP-46 on the wire: kind-24133 events between an app's connection key and the vault's key,
//! their content NIP-44 encrypted between the two. The vault's own account key is the signer's
//! key, so an app talks to the identity it signs for; it never leaves the vault worker.

use sigil_shared::event_json::parse_event;
use sigil_shared::nostr::event::{Event, EventId, FinalizeEvent, Kind, Tag, UnsignedEvent};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::nips::nip44;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::AccountSecret;

use super::request::SignerResponse;
use crate::worker_api::Private;

/// NIP-46's event kind, for requests and responses alike.
pub const NOSTR_CONNECT_KIND: u16 = 24133;

/// Why an event from a relay is not a request for this vault. Such events are dropped unanswered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not a well-formed event")]
    Malformed,
    #[error("the signature or id does not check out")]
    Forged,
    #[error("not a NIP-46 event")]
    WrongKind,
    #[error("not addressed to this vault")]
    NotForUs,
    #[error("the content does not open")]
    Undecryptable,
    #[error("the response could not be sealed: {0}")]
    Seal(String),
}

/// `["REQ", …]` for requests to this vault from `since` on.
pub fn subscribe(subscription: &str, signer: &PublicKey, since: Timestamp) -> String {
    serde_json::json!([
        "REQ",
        subscription,
        { "kinds": [NOSTR_CONNECT_KIND], "#p": [signer.to_hex()], "since": since.as_secs() }
    ])
    .to_string()
}

/// A request event, checked and opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The event's id: the same request arrives from every relay it was published on.
    pub id: EventId,
    /// The app's connection key.
    pub from: PublicKey,
    /// The request's JSON (it may carry a message to encrypt).
    pub json: Private,
}

/// Checks an event from a relay and opens it.
pub fn open_request(json: &str, account: &AccountSecret) -> Result<Incoming, WireError> {
    let event = parse_event(json).map_err(|_| WireError::Malformed)?;
    event.verify().map_err(|_| WireError::Forged)?;
    if event.kind != Kind::from(NOSTR_CONNECT_KIND) {
        return Err(WireError::WrongKind);
    }
    let me = account.public_key().to_hex();
    let addressed = event.tags.iter().any(|tag| {
        let parts = tag.as_slice();
        parts.first().map(String::as_str) == Some("p") && parts.get(1) == Some(&me)
    });
    if !addressed {
        return Err(WireError::NotForUs);
    }
    let content = nip44::decrypt(account.keys().secret_key(), &event.pubkey, &event.content)
        .map_err(|_| WireError::Undecryptable)?;
    Ok(Incoming {
        id: event.id,
        from: event.pubkey,
        json: Private(content),
    })
}

/// The response as an event for the app's connection key.
pub fn seal_response(
    response: &SignerResponse,
    to: &PublicKey,
    account: &AccountSecret,
    now: Timestamp,
) -> Result<Event, WireError> {
    let keys = account.keys();
    let content = nip44::encrypt(
        keys.secret_key(),
        to,
        response.to_json(),
        nip44::Version::V2,
    )
    .map_err(|e| WireError::Seal(e.to_string()))?;
    let tag = Tag::parse(["p", &to.to_hex()]).map_err(|e| WireError::Seal(e.to_string()))?;
    UnsignedEvent::new(
        account.public_key(),
        now,
        Kind::from(NOSTR_CONNECT_KIND),
        vec![tag],
        content,
    )
    .finalize(keys)
    .map_err(|e| WireError::Seal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use sigil_shared::nostr::key::Keys;

    use super::*;

    /// A request event as an app (nostr-tools' BunkerSigner, say) makes it.
    fn app_request(app: &Keys, signer: &PublicKey, json: &str, kind: u16) -> String {
        let content =
            nip44::encrypt(app.secret_key(), signer, json, nip44::Version::V2).expect("encrypt");
        let tag = Tag::parse(["p", &signer.to_hex()]).expect("tag");
        UnsignedEvent::new(
            app.public_key(),
            Timestamp::from_secs(1_700_000_000),
            Kind::from(kind),
            vec![tag],
            content,
        )
        .finalize(app)
        .expect("sign")
        .as_json()
    }

    #[test]
    fn a_request_opens_and_its_response_opens_for_the_app() {
        let (account, app) = (AccountSecret::generate(), Keys::generate());
        let request = r#"{"id":"1","method":"ping","params":[]}"#;
        let event = app_request(&app, &account.public_key(), request, NOSTR_CONNECT_KIND);
        let incoming = open_request(&event, &account).expect("opens");
        let from = incoming.from;
        assert_eq!((from, &*incoming.json), (app.public_key(), request));

        let response = SignerResponse::ok("1", "pong");
        let sealed =
            seal_response(&response, &from, &account, Timestamp::from_secs(5)).expect("sealed");
        sealed.verify().expect("signed by the vault");
        assert_eq!(sealed.pubkey, account.public_key());
        assert_eq!(sealed.kind, Kind::from(NOSTR_CONNECT_KIND));
        let opened = nip44::decrypt(app.secret_key(), &account.public_key(), &sealed.content)
            .expect("the app opens it");
        assert_eq!(opened, r#"{"id":"1","result":"pong"}"#);
    }

    #[test]
    fn events_not_for_this_vault_are_dropped() {
        let (account, app) = (AccountSecret::generate(), Keys::generate());
        let request = r#"{"id":"1","method":"ping","params":[]}"#;
        let me = account.public_key();
        let other = Keys::generate().public_key();
        assert_eq!(
            open_request(
                &app_request(&app, &other, request, NOSTR_CONNECT_KIND),
                &account
            ),
            Err(WireError::NotForUs)
        );
        assert_eq!(
            open_request(&app_request(&app, &me, request, 1), &account),
            Err(WireError::WrongKind)
        );
        let forged = app_request(&app, &me, request, NOSTR_CONNECT_KIND)
            .replace(&app.public_key().to_hex(), &other.to_hex());
        assert_eq!(open_request(&forged, &account), Err(WireError::Forged));
        assert_eq!(open_request("{}", &account), Err(WireError::Malformed));
    }

    #[test]
    fn the_subscription_asks_for_requests_to_this_vault() {
        let signer = Keys::generate().public_key();
        let req: serde_json::Value =
            serde_json::from_str(&subscribe("nip46", &signer, Timestamp::from_secs(9)))
                .expect("JSON");
        assert_eq!(req[0], "REQ");
        assert_eq!(req[2]["kinds"][0], NOSTR_CONNECT_KIND);
        assert_eq!(req[2]["#p"][0], signer.to_hex());
        assert_eq!(req[2]["since"], 9);
    }
}
