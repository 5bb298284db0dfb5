//! NIP-46 requests as an app sends them (the decrypted content of a kind-24133 event) and the
//! responses the signer sends back. Every request that carries an id gets an answer: an unknown
//! method or malformed parameters get an error, never silence, as NIP-46 asks.

use serde::{Deserialize, Serialize};
use sigil_shared::nostr::key::PublicKey;

use super::policy::Permission;
use crate::worker_api::Private;

/// How a payload for a third party is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Nip44,
    Nip04,
}

/// An event for the vault to sign, as the app sends it: everything but the id, the signature
/// and (optionally) the author, which is the vault's own key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTemplate {
    pub kind: u16,
    pub content: String,
    pub tags: Vec<Vec<String>>,
    pub created_at: u64,
    /// If given, it must be the vault's key.
    #[serde(default)]
    pub pubkey: Option<String>,
    /// Sent by some clients (NDK sends the whole event it made locally); the vault computes
    /// its own, and NDK takes only the signature from the answer, so they must agree.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub sig: Option<String>,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// A `bunker://` connection from the app: the signer's key it expects (NDK sends none when
    /// it does not know it yet), and the one-time secret from the URI, with the permissions it
    /// asks for.
    Connect {
        signer: Option<PublicKey>,
        secret: Option<Private>,
        perms: Vec<Permission>,
    },
    GetPublicKey,
    SignEvent(EventTemplate),
    Encrypt {
        scheme: Scheme,
        peer: PublicKey,
        plaintext: Private,
    },
    Decrypt {
        scheme: Scheme,
        peer: PublicKey,
        ciphertext: String,
    },
    Ping,
    SwitchRelays,
    Logout,
    /// A method this signer does not know.
    Unknown(String),
}

impl Call {
    /// The NIP-46 method's name.
    pub fn method(&self) -> &str {
        match self {
            Self::Connect { .. } => "connect",
            Self::GetPublicKey => "get_public_key",
            Self::SignEvent(_) => "sign_event",
            Self::Encrypt {
                scheme: Scheme::Nip44,
                ..
            } => "nip44_encrypt",
            Self::Encrypt {
                scheme: Scheme::Nip04,
                ..
            } => "nip04_encrypt",
            Self::Decrypt {
                scheme: Scheme::Nip44,
                ..
            } => "nip44_decrypt",
            Self::Decrypt {
                scheme: Scheme::Nip04,
                ..
            } => "nip04_decrypt",
            Self::Ping => "ping",
            Self::SwitchRelays => "switch_relays",
            Self::Logout => "logout",
            Self::Unknown(method) => method,
        }
    }

    /// The permission the user must have given the app, if the call needs one.
    pub fn permission(&self) -> Option<Permission> {
        match self {
            Self::SignEvent(template) => Some(Permission::SignEvent(template.kind)),
            Self::Encrypt { scheme, .. } => Some(match scheme {
                Scheme::Nip44 => Permission::Nip44Encrypt,
                Scheme::Nip04 => Permission::Nip04Encrypt,
            }),
            Self::Decrypt { scheme, .. } => Some(match scheme {
                Scheme::Nip44 => Permission::Nip44Decrypt,
                Scheme::Nip04 => Permission::Nip04Decrypt,
            }),
            Self::Connect { .. }
            | Self::GetPublicKey
            | Self::Ping
            | Self::SwitchRelays
            | Self::Logout
            | Self::Unknown(_) => None,
        }
    }
}

/// One request: its id (echoed in the response) and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerRequest {
    pub id: String,
    pub call: Call,
}

/// Why a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a NIP-46 request at all: there is no id to answer.
    #[error("not a NIP-46 request")]
    Unreadable,
    /// A request whose parameters do not fit its method: answered with this error.
    #[error("{method}: {why}")]
    BadParams {
        id: String,
        method: String,
        why: &'static str,
    },
}

#[derive(Deserialize)]
struct Wire {
    id: String,
    method: String,
    #[serde(default)]
    params: Vec<String>,
}

impl SignerRequest {
    pub fn parse(json: &str) -> Result<Self, RequestError> {
        let wire: Wire = serde_json::from_str(json).map_err(|_| RequestError::Unreadable)?;
        let bad = |why| RequestError::BadParams {
            id: wire.id.clone(),
            method: wire.method.clone(),
            why,
        };
        let key = |at: usize| {
            wire.params
                .get(at)
                .and_then(|hex| PublicKey::from_hex(hex).ok())
                .ok_or_else(|| bad("expected a public key in hex"))
        };
        let text = |at: usize| {
            wire.params
                .get(at)
                .cloned()
                .ok_or_else(|| bad("a parameter is missing"))
        };
        let call = match wire.method.as_str() {
            "connect" => Call::Connect {
                signer: match wire.params.first().map(String::as_str) {
                    Some("") => None,
                    _ => Some(key(0)?),
                },
                secret: wire
                    .params
                    .get(1)
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .map(Private),
                perms: wire
                    .params
                    .get(2)
                    .map(|perms| Permission::parse_list(perms))
                    .unwrap_or_default(),
            },
            "get_public_key" => Call::GetPublicKey,
            "sign_event" => Call::SignEvent(
                serde_json::from_str(&text(0)?).map_err(|_| bad("expected an event template"))?,
            ),
            "nip44_encrypt" | "nip04_encrypt" => Call::Encrypt {
                scheme: scheme(&wire.method),
                peer: key(0)?,
                plaintext: Private(text(1)?),
            },
            "nip44_decrypt" | "nip04_decrypt" => Call::Decrypt {
                scheme: scheme(&wire.method),
                peer: key(0)?,
                ciphertext: text(1)?,
            },
            "ping" => Call::Ping,
            "switch_relays" => Call::SwitchRelays,
            "logout" => Call::Logout,
            other => Call::Unknown(other.to_owned()),
        };
        Ok(Self { id: wire.id, call })
    }
}

fn scheme(method: &str) -> Scheme {
    if method.starts_with("nip04") {
        Scheme::Nip04
    } else {
        Scheme::Nip44
    }
}

/// The answer to one request, to be encrypted back to the app. The result may be a decrypted
/// message or a connection secret: its `Debug` shows nothing of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerResponse {
    pub id: String,
    pub result: Private,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SignerResponse {
    pub fn ok(id: &str, result: impl Into<String>) -> Self {
        Self {
            id: id.to_owned(),
            result: Private(result.into()),
            error: None,
        }
    }

    pub fn error(id: &str, error: impl Into<String>) -> Self {
        Self {
            id: id.to_owned(),
            result: Private(String::new()),
            error: Some(error.into()),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use sigil_shared::nostr::key::Keys;

    use super::*;

    fn request(method: &str, params: &[&str]) -> String {
        serde_json::json!({ "id": "r1", "method": method, "params": params }).to_string()
    }

    #[test]
    fn each_method_is_read_with_its_parameters() {
        let peer = Keys::generate().public_key();
        let signer = Keys::generate().public_key();
        let connect = SignerRequest::parse(&request(
            "connect",
            &[&signer.to_hex(), "s3cret", "sign_event:1,nip44_encrypt"],
        ))
        .expect("connect");
        assert_eq!(
            connect.call,
            Call::Connect {
                signer: Some(signer),
                secret: Some(Private("s3cret".into())),
                perms: vec![Permission::SignEvent(1), Permission::Nip44Encrypt],
            }
        );
        let template = r#"{"kind":1,"content":"hi","tags":[["t","x"]],"created_at":1700000000}"#;
        let sign = SignerRequest::parse(&request("sign_event", &[template])).expect("sign");
        assert_eq!(sign.call.permission(), Some(Permission::SignEvent(1)));
        let decrypt = SignerRequest::parse(&request("nip04_decrypt", &[&peer.to_hex(), "abc"]))
            .expect("decrypt");
        assert_eq!(
            decrypt.call,
            Call::Decrypt {
                scheme: Scheme::Nip04,
                peer,
                ciphertext: "abc".into()
            }
        );
        assert_eq!(decrypt.call.permission(), Some(Permission::Nip04Decrypt));
        for (method, call) in [
            ("get_public_key", Call::GetPublicKey),
            ("ping", Call::Ping),
            ("switch_relays", Call::SwitchRelays),
            ("logout", Call::Logout),
        ] {
            let read = SignerRequest::parse(&request(method, &[])).expect(method);
            assert_eq!(read.call, call);
            assert_eq!(read.call.permission(), None, "{method} needs no prompt");
        }
    }

    #[test]
    fn an_unknown_method_or_bad_parameters_still_get_an_answer() {
        let unknown = SignerRequest::parse(&request("sign_message", &["x"])).expect("read");
        assert_eq!(unknown.call, Call::Unknown("sign_message".into()));
        for (method, params) in [
            ("nip44_encrypt", vec!["not a key", "x"]),
            ("nip44_encrypt", vec![]),
            ("sign_event", vec!["{\"kind\":1}"]),
            ("connect", vec![]),
        ] {
            let error = SignerRequest::parse(&request(method, &params)).expect_err(method);
            assert!(
                matches!(&error, RequestError::BadParams { id, .. } if id == "r1"),
                "{method}: {error:?}"
            );
        }
        // Without an id there is nobody to answer.
        assert_eq!(
            SignerRequest::parse(r#"{"method":"ping","params":[]}"#),
            Err(RequestError::Unreadable)
        );
    }

    #[test]
    fn responses_have_the_shape_nip46_clients_read() {
        assert_eq!(
            SignerResponse::ok("r1", "pong").to_json(),
            r#"{"id":"r1","result":"pong"}"#
        );
        assert_eq!(
            SignerResponse::error("r2", "unknown method: sign_message").to_json(),
            r#"{"id":"r2","result":"","error":"unknown method: sign_message"}"#
        );
    }
}
