//! The two ways an app and the signer find each other (NIP-46): a `nostrconnect://` URI the app
//! shows and the user pastes into Sigil, and a `bunker://` URI Sigil shows and the user pastes
//! into the app. What a URI says about the app (name, URL, icon) is the app's own claim: the page
//! shows it as text, never as markup.

use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::{RelayUrl, Url, form_urlencoded};

use super::policy::Permission;
use crate::worker_api::Private;

/// Why a pasted URI is not accepted, worded for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("this is not a nostrconnect:// link")]
    NotNostrConnect,
    #[error("the link does not name the app's key")]
    Key,
    #[error("the link names no relay to talk through")]
    NoRelay,
    #[error("the link names a relay that is not a ws:// or wss:// address: {0}")]
    Relay(String),
    #[error("the link carries no secret, which NIP-46 requires")]
    NoSecret,
}

/// An app's `nostrconnect://` invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NostrConnect {
    /// The app's key for this connection (not the user's).
    pub client: PublicKey,
    pub relays: Vec<String>,
    /// Sent back in the signer's first answer, so the app knows it reached the signer it asked.
    pub secret: Private,
    pub perms: Vec<Permission>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub image: Option<String>,
}

/// The most a relay list or a text field of a URI may hold: a pasted link is user input.
const MAX_RELAYS: usize = 8;
const MAX_TEXT: usize = 256;

/// A relay address safe to use and to name in the page's content security policy.
fn relay(text: &str) -> Result<String, UriError> {
    let bad = || UriError::Relay(text.chars().take(80).collect());
    if text.contains([' ', ';', ',', '\'', '"']) {
        return Err(bad());
    }
    let parsed = RelayUrl::parse(text).map_err(|_| bad())?;
    Ok(parsed.to_string())
}

impl NostrConnect {
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        let uri = uri.trim();
        let url = Url::parse(uri).map_err(|_| UriError::NotNostrConnect)?;
        if url.scheme() != "nostrconnect" {
            return Err(UriError::NotNostrConnect);
        }
        let client = url
            .host_str()
            .and_then(|host| PublicKey::from_hex(host).ok())
            .ok_or(UriError::Key)?;
        let (mut relays, mut secret, mut perms) = (Vec::new(), None, Vec::new());
        let (mut name, mut app_url, mut image) = (None, None, None);
        let text = |value: &str| {
            let value: String = value.chars().take(MAX_TEXT).collect();
            (!value.trim().is_empty()).then_some(value)
        };
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "relay" if relays.len() < MAX_RELAYS => {
                    let relay = relay(&value)?;
                    if !relays.contains(&relay) {
                        relays.push(relay);
                    }
                }
                "secret" => secret = text(&value),
                "perms" => perms = Permission::parse_list(&value),
                "name" => name = text(&value),
                "url" => app_url = text(&value),
                "image" => image = text(&value),
                _ => {}
            }
        }
        if relays.is_empty() {
            return Err(UriError::NoRelay);
        }
        Ok(Self {
            client,
            relays,
            secret: Private(secret.ok_or(UriError::NoSecret)?),
            perms,
            name,
            url: app_url,
            image,
        })
    }
}

/// Sigil's `bunker://` invitation for an app: the vault's key, where to reach it, and a one-time
/// secret the app's `connect` must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bunker {
    pub signer: PublicKey,
    pub relays: Vec<String>,
    pub secret: Private,
}

impl Bunker {
    pub fn to_uri(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for relay in &self.relays {
            query.append_pair("relay", relay);
        }
        query.append_pair("secret", &self.secret);
        format!("bunker://{}?{}", self.signer.to_hex(), query.finish())
    }
}

#[cfg(test)]
mod tests {
    use sigil_shared::nostr::key::Keys;

    use super::*;

    #[test]
    fn an_apps_invitation_is_read_with_its_metadata() {
        let app = Keys::generate().public_key();
        // As nostr-tools' createNostrConnectURI writes it (URLSearchParams: spaces as '+').
        let uri = format!(
            "nostrconnect://{}?relay=wss%3A%2F%2Frelay.example&relay=wss%3A%2F%2Frelay.example&relay=ws://127.0.0.1:7777&secret=0s8j2djs&perms=sign_event%3A1%2Cnip44_encrypt&name=My+Client&url=https%3A%2F%2Fclient.example&image=https%3A%2F%2Fclient.example%2Ficon.png",
            app.to_hex()
        );
        let read = NostrConnect::parse(&uri).expect("read");
        assert_eq!(read.client, app);
        assert_eq!(
            read.relays,
            vec!["wss://relay.example", "ws://127.0.0.1:7777"]
        );
        assert_eq!(&*read.secret, "0s8j2djs");
        assert!(
            !format!("{read:?}").contains("0s8j2djs"),
            "Debug hides the secret"
        );
        assert_eq!(
            read.perms,
            vec![Permission::SignEvent(1), Permission::Nip44Encrypt]
        );
        assert_eq!(read.name.as_deref(), Some("My Client"));
        assert_eq!(read.url.as_deref(), Some("https://client.example"));
        assert_eq!(
            read.image.as_deref(),
            Some("https://client.example/icon.png")
        );
    }

    #[test]
    fn invitations_without_what_nip46_requires_are_refused() {
        let app = Keys::generate().public_key().to_hex();
        for (uri, error) in [
            (
                format!("bunker://{app}?relay=wss://r.example&secret=x"),
                UriError::NotNostrConnect,
            ),
            (
                "nostrconnect://nothex?relay=wss://r.example&secret=x".into(),
                UriError::Key,
            ),
            (format!("nostrconnect://{app}?secret=x"), UriError::NoRelay),
            (
                format!("nostrconnect://{app}?relay=wss://r.example"),
                UriError::NoSecret,
            ),
            (
                format!("nostrconnect://{app}?relay=https://r.example&secret=x"),
                UriError::Relay("https://r.example".into()),
            ),
            (
                // Would smuggle a directive into the page's content security policy.
                format!("nostrconnect://{app}?relay=wss://r.example%3B+script-src+*&secret=x"),
                UriError::Relay("wss://r.example; script-src *".into()),
            ),
        ] {
            assert_eq!(NostrConnect::parse(&uri), Err(error), "{uri}");
        }
    }

    #[test]
    fn a_bunker_uri_names_the_vault_its_relays_and_the_secret() {
        let signer = Keys::generate().public_key();
        let bunker = Bunker {
            signer,
            relays: vec!["wss://relay.example".into(), "ws://127.0.0.1:7777".into()],
            secret: Private("a b&c".into()),
        };
        assert_eq!(
            bunker.to_uri(),
            format!(
                "bunker://{}?relay=wss%3A%2F%2Frelay.example&relay=ws%3A%2F%2F127.0.0.1%3A7777&secret=a+b%26c",
                signer.to_hex()
            )
        );
    }
}
