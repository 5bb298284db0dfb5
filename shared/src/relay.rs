//! The relay transport's NIP-01 messages: the server's subscription to requests, a client's
//! subscription to its reply, publishing, and what relays send back. Pure text in and out:
//! the server and the browser each move it over their own WebSockets. Messages are written
//! directly rather than with nostr's message and filter types, whose serialisers would add about
//! 16 KiB to the compressed WebAssembly.

use nostr::event::{Event, FinalizeEvent, Kind, Tag, UnsignedEvent};
use nostr::key::{Keys, PublicKey};
use nostr::types::Timestamp;
use serde_json::{Value, json};

use crate::dvm::SealError;
use crate::kinds;

/// The server's one subscription on each relay.
pub const REQUESTS_SUBSCRIPTION: &str = "sigil-requests";

/// NIP-89 handler information (kind 31990), replaceable per `d` tag.
pub const HANDLER_INFO_KIND: u16 = 31990;
/// NIP-65 relay list metadata (kind 10002), replaceable per author; made by the client.
pub const RELAY_LIST_KIND: u16 = 10002;

/// `["REQ", …]` for requests that p-tag `server`, created from `since` on.
pub fn subscribe_requests(server: &PublicKey, since: Timestamp) -> String {
    let filter = json!({
        "kinds": [kinds::REQUEST],
        "#p": [server.to_hex()],
        "since": since.as_secs(),
    });
    json!(["REQ", REQUESTS_SUBSCRIPTION, filter]).to_string()
}

/// `["REQ", …]` for the server's reply to `request`: signed by `server`, naming the request and
/// its sender. Sent before the request itself, since relays keep no ephemeral events.
/// `subscription` must need no JSON escaping (the client's are `sigil-` and hex).
pub fn subscribe_reply(subscription: &str, server: &PublicKey, request: &Event) -> String {
    format!(
        r##"["REQ","{subscription}",{{"kinds":[{}],"authors":["{}"],"#e":["{}"],"#p":["{}"]}}]"##,
        kinds::REPLY,
        server.to_hex(),
        request.id.to_hex(),
        request.pubkey.to_hex(),
    )
}

/// `["CLOSE", subscription]`, for a subscription name as [`subscribe_reply`] takes it.
pub fn close(subscription: &str) -> String {
    format!(r#"["CLOSE","{subscription}"]"#)
}

/// `["EVENT", event]`.
pub fn publish(event: &Event) -> String {
    let mut text = String::from(r#"["EVENT","#);
    text.push_str(&event.as_json());
    text.push(']');
    text
}

/// A message from a relay. An event is handed on as JSON text, which the server checks exactly
/// as it checks an HTTP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromRelay {
    Event {
        subscription: String,
        event: String,
    },
    /// The relay's verdict on an event we published.
    Ok {
        event_id: String,
        accepted: bool,
        message: String,
    },
    EndOfStored(String),
    Closed {
        subscription: String,
        message: String,
    },
    Notice(String),
    /// AUTH, COUNT and anything newer: nothing this transport needs.
    Other,
}

/// Parses one relay message; `None` for text that is not a NIP-01 message.
pub fn parse(text: &str) -> Option<FromRelay> {
    let value: Value = serde_json::from_str(text).ok()?;
    let parts = value.as_array()?;
    let word = |i: usize| parts.get(i).and_then(Value::as_str).map(str::to_owned);
    let message = match parts.first()?.as_str()? {
        "EVENT" if parts.len() != 3 || !parts[2].is_object() => return None,
        "EVENT" => FromRelay::Event {
            subscription: word(1)?,
            event: parts[2].to_string(),
        },
        "OK" => FromRelay::Ok {
            event_id: word(1)?,
            accepted: parts.get(2)?.as_bool()?,
            message: word(3).unwrap_or_default(),
        },
        "EOSE" => FromRelay::EndOfStored(word(1)?),
        "CLOSED" => FromRelay::Closed {
            subscription: word(1)?,
            message: word(2).unwrap_or_default(),
        },
        "NOTICE" => FromRelay::Notice(word(1).unwrap_or_default()),
        _ => FromRelay::Other,
    };
    Some(message)
}

/// The server's NIP-89 announcement: a handler for Sigil requests, so Nostr clients can find it.
pub fn handler_info(
    server: &Keys,
    identifier: &str,
    about: &str,
    created_at: Timestamp,
) -> Result<Event, SealError> {
    let metadata = serde_json::json!({ "name": "Sigil", "about": about });
    let tags = [
        Tag::identifier(identifier),
        tag(["k", &kinds::REQUEST.to_string()])?,
    ];
    sign(
        server,
        HANDLER_INFO_KIND,
        tags.to_vec(),
        metadata.to_string(),
        created_at,
    )
}

fn tag<const N: usize>(parts: [&str; N]) -> Result<Tag, SealError> {
    Tag::parse(parts).map_err(|e| SealError::Serialise(e.to_string()))
}

fn sign(
    keys: &Keys,
    kind: u16,
    tags: Vec<Tag>,
    content: String,
    created_at: Timestamp,
) -> Result<Event, SealError> {
    UnsignedEvent::new(
        keys.public_key(),
        created_at,
        Kind::from(kind),
        tags,
        content,
    )
    .finalize(keys)
    .map_err(|e| SealError::Sign(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::generate()
    }

    #[test]
    fn events_are_handed_on_as_json() {
        let event = r#"{"id":"ab",  "kind":25910}"#;
        let text = format!(r#"["EVENT","sigil-requests",{event}]"#);
        assert_eq!(
            parse(&text),
            Some(FromRelay::Event {
                subscription: REQUESTS_SUBSCRIPTION.into(),
                event: r#"{"id":"ab","kind":25910}"#.into()
            })
        );
    }

    #[test]
    fn relay_verdicts_and_notices_parse() {
        assert_eq!(
            parse(r#"["OK","ff",false,"blocked: pow"]"#),
            Some(FromRelay::Ok {
                event_id: "ff".into(),
                accepted: false,
                message: "blocked: pow".into()
            })
        );
        assert_eq!(
            parse(r#"["EOSE","s"]"#),
            Some(FromRelay::EndOfStored("s".into()))
        );
        assert_eq!(
            parse(r#"["CLOSED","s","error: shutting down"]"#),
            Some(FromRelay::Closed {
                subscription: "s".into(),
                message: "error: shutting down".into()
            })
        );
        assert_eq!(
            parse(r#"["NOTICE","hi"]"#),
            Some(FromRelay::Notice("hi".into()))
        );
        assert_eq!(parse(r#"["AUTH","challenge"]"#), Some(FromRelay::Other));
    }

    #[test]
    fn garbage_is_not_a_message() {
        for text in [
            "",
            "{}",
            "[]",
            "[1,2]",
            r#"["EVENT","s"]"#,
            r#"["OK","id","yes"]"#,
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn the_request_subscription_asks_for_requests_to_this_server() {
        let server = keys().public_key();
        let text = subscribe_requests(&server, Timestamp::from(1_700_000_000));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value[0], "REQ");
        assert_eq!(value[1], REQUESTS_SUBSCRIPTION);
        assert_eq!(value[2]["kinds"], serde_json::json!([kinds::REQUEST]));
        assert_eq!(value[2]["#p"], serde_json::json!([server.to_hex()]));
        assert_eq!(value[2]["since"], 1_700_000_000);
    }

    #[test]
    fn the_reply_subscription_names_server_request_and_sender() {
        let (server, client) = (keys(), keys());
        let request = sign(
            &client,
            kinds::REQUEST,
            Vec::new(),
            "x".into(),
            Timestamp::now(),
        )
        .unwrap();
        let text = subscribe_reply("r1", &server.public_key(), &request);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value[1], "r1");
        assert_eq!(value[2]["kinds"], serde_json::json!([kinds::REPLY]));
        assert_eq!(
            value[2]["authors"],
            serde_json::json!([server.public_key().to_hex()])
        );
        assert_eq!(value[2]["#e"], serde_json::json!([request.id.to_hex()]));
        assert_eq!(
            value[2]["#p"],
            serde_json::json!([client.public_key().to_hex()])
        );
        let published: serde_json::Value = serde_json::from_str(&publish(&request)).unwrap();
        assert_eq!(published[0], "EVENT");
        assert_eq!(published[1]["id"], request.id.to_hex());
        assert_eq!(close("r1"), r#"["CLOSE","r1"]"#);
    }

    #[test]
    fn announcements_are_signed_and_tagged() {
        let server = keys();
        let info = handler_info(&server, "sigil", "vault", Timestamp::from(5)).unwrap();
        assert!(info.verify().is_ok());
        assert_eq!(info.kind, Kind::from(HANDLER_INFO_KIND));
        let tags: Vec<Vec<String>> = info.tags.iter().map(|t| t.clone().to_vec()).collect();
        assert!(tags.contains(&vec!["d".into(), "sigil".into()]));
        assert!(tags.contains(&vec!["k".into(), kinds::REQUEST.to_string()]));
    }
}
