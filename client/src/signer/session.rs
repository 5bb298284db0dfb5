//! The signer's state in the vault: the connected apps with their permissions, the activity log,
//! and what to do with each request that arrives. Pure: the relay traffic and the prompts are the
//! caller's; this decides and computes. Kept (without the secret key) in the local vault.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::secret::AccountSecret;

use super::answer::{answer, check_connect};
use super::policy::{AppPermissions, Decision, Grant, Permission, PromptLimit};
use super::request::{Call, RequestError, SignerRequest, SignerResponse};
use super::uri::{Bunker, NostrConnect};
pub use crate::worker_api::Choice;
use crate::worker_api::Private;

/// Prompts one app may show in a minute before its requests are refused without asking: room
/// for an app's first use of every permission, not for a flood.
const PROMPTS_PER_MINUTE: usize = 10;
/// Entries the activity log keeps, newest last.
const LOG_LEN: usize = 500;

/// One connected app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    /// As the app's URI said, or unknown for a bunker connection.
    pub name: Option<String>,
    pub url: Option<String>,
    pub relays: Vec<String>,
    pub permissions: AppPermissions,
    pub connected_at: u64,
    pub last_active: u64,
    /// A revoked app's requests get errors.
    pub revoked: bool,
}

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at: u64,
    /// The app's key, in hex.
    pub app: String,
    /// The NIP-46 method.
    pub method: String,
    /// The event kind, for `sign_event`.
    pub kind: Option<u16>,
    pub allowed: bool,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Send this back to the app.
    Respond(SignerResponse),
    /// Ask the user first; then [`Signer::resolve`].
    Ask {
        request: SignerRequest,
        permission: Permission,
    },
    /// Nothing to answer: not a request, or from a key that is not connected and not connecting.
    Ignore,
}

/// The signer's kept state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Signer {
    /// By the app's key (hex).
    apps: BTreeMap<String, App>,
    log: Vec<Activity>,
    /// The secret of the bunker:// URI shown last, until an app connects with it.
    bunker_secret: Option<Private>,
    #[serde(skip)]
    prompts: BTreeMap<String, PromptLimit>,
}

impl Signer {
    pub fn apps(&self) -> impl Iterator<Item = (&str, &App)> {
        self.apps.iter().map(|(key, app)| (key.as_str(), app))
    }

    pub fn log(&self) -> &[Activity] {
        &self.log
    }

    /// A new one-time secret for a bunker:// URI; the previous one stops working.
    pub fn set_bunker_secret(&mut self, secret: Private) {
        self.bunker_secret = Some(secret);
    }

    /// A `bunker://` link to this vault (`me`) on `relays`, with a new random one-time secret;
    /// the previous link's stops working.
    pub fn new_bunker_link(&mut self, me: PublicKey, relays: &[String]) -> Private {
        let secret: String = rand::random::<[u8; 16]>()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.set_bunker_secret(Private(secret.clone()));
        Private(
            Bunker {
                signer: me,
                relays: relays.to_vec(),
                secret: Private(secret),
            }
            .to_uri(),
        )
    }

    /// Whether an app with this key is connected (revoked or not).
    pub fn knows(&self, app: &PublicKey) -> bool {
        self.apps.contains_key(&app.to_hex())
    }

    /// The relays to listen on: the user's, then those of every app not revoked, each once.
    pub fn relays_in_use(&self, user: &[String]) -> Vec<String> {
        let mut relays = user.to_vec();
        for app in self.apps.values().filter(|app| !app.revoked) {
            for relay in &app.relays {
                if !relays.contains(relay) {
                    relays.push(relay.clone());
                }
            }
        }
        relays
    }

    /// The user approved an app's nostrconnect:// invitation with `granted` (from what it asked):
    /// the app is connected, and the answer to send it first carries its secret.
    pub fn accept(
        &mut self,
        invitation: &NostrConnect,
        granted: &[Permission],
        first_id: &str,
        now: u64,
    ) -> SignerResponse {
        let mut permissions = AppPermissions::default();
        for permission in granted {
            permissions.remember(*permission, Grant::Always);
        }
        self.apps.insert(
            invitation.client.to_hex(),
            App {
                name: invitation.name.clone(),
                url: invitation.url.clone(),
                relays: invitation.relays.clone(),
                permissions,
                connected_at: now,
                last_active: now,
                revoked: false,
            },
        );
        SignerResponse::ok(first_id, invitation.secret.0.clone())
    }

    pub fn revoke(&mut self, app: &PublicKey) {
        if let Some(app) = self.apps.get_mut(&app.to_hex()) {
            app.revoked = true;
        }
    }

    /// Decides what to do with `json`, a request decrypted from `from`.
    pub fn handle(
        &mut self,
        from: &PublicKey,
        json: &str,
        account: &AccountSecret,
        relays: &[String],
        now: u64,
    ) -> Handled {
        let request = match SignerRequest::parse(json) {
            Ok(request) => request,
            Err(RequestError::Unreadable) => return Handled::Ignore,
            Err(RequestError::BadParams { id, method, why }) => {
                return Handled::Respond(SignerResponse::error(&id, format!("{method}: {why}")));
            }
        };
        let key = from.to_hex();
        let Some(app) = self.apps.get_mut(&key) else {
            return self.connect_new(&key, request, account, relays, now);
        };
        if app.revoked {
            return Handled::Respond(SignerResponse::error(
                &request.id,
                "this app's connection was revoked",
            ));
        }
        app.last_active = now;
        let Some(permission) = request.call.permission() else {
            return Handled::Respond(respond(&request, account, relays));
        };
        match app.permissions.decide(permission) {
            Decision::Allow => self.run(&key, request, account, relays, now),
            Decision::Deny => self.refuse(&key, &request, now),
            Decision::Ask => {
                let limit = self
                    .prompts
                    .entry(key.clone())
                    .or_insert_with(|| PromptLimit::new(PROMPTS_PER_MINUTE, 60));
                if limit.try_prompt(now) {
                    Handled::Ask {
                        request,
                        permission,
                    }
                } else {
                    Handled::Respond(SignerResponse::error(
                        &request.id,
                        "too many requests awaiting approval; try again later",
                    ))
                }
            }
        }
    }

    /// The user answered the prompt for `request` from `from`.
    pub fn resolve(
        &mut self,
        from: &PublicKey,
        request: SignerRequest,
        choice: Choice,
        account: &AccountSecret,
        relays: &[String],
        now: u64,
    ) -> SignerResponse {
        let key = from.to_hex();
        let permission = request.call.permission();
        if let (Some(app), Some(permission)) = (self.apps.get_mut(&key), permission) {
            match choice {
                Choice::Always => app.permissions.remember(permission, Grant::Always),
                Choice::Never => app.permissions.remember(permission, Grant::Never),
                Choice::Once | Choice::Deny => {}
            }
        }
        let handled = match choice {
            Choice::Deny | Choice::Never => self.refuse(&key, &request, now),
            Choice::Once | Choice::Always => self.run(&key, request, account, relays, now),
        };
        match handled {
            Handled::Respond(response) => response,
            Handled::Ask { request, .. } => SignerResponse::error(&request.id, "not approved"),
            Handled::Ignore => SignerResponse::error("", "not approved"),
        }
    }

    /// A `connect` from a key not connected yet: accepted with the bunker:// secret.
    fn connect_new(
        &mut self,
        key: &str,
        request: SignerRequest,
        account: &AccountSecret,
        relays: &[String],
        now: u64,
    ) -> Handled {
        if !matches!(request.call, Call::Connect { .. }) || self.bunker_secret.is_none() {
            return Handled::Respond(SignerResponse::error(&request.id, "not connected"));
        }
        if let Err(error) = check_connect(&request.call, account, &mut self.bunker_secret) {
            return Handled::Respond(SignerResponse::error(&request.id, error.to_string()));
        }
        // What the app asked for is not granted in advance: each first use asks.
        self.apps.insert(
            key.to_owned(),
            App {
                name: None,
                url: None,
                relays: relays.to_vec(),
                permissions: AppPermissions::default(),
                connected_at: now,
                last_active: now,
                revoked: false,
            },
        );
        Handled::Respond(respond(&request, account, relays))
    }

    fn run(
        &mut self,
        key: &str,
        request: SignerRequest,
        account: &AccountSecret,
        relays: &[String],
        now: u64,
    ) -> Handled {
        self.record(key, &request, true, now);
        Handled::Respond(respond(&request, account, relays))
    }

    fn refuse(&mut self, key: &str, request: &SignerRequest, now: u64) -> Handled {
        self.record(key, request, false, now);
        Handled::Respond(SignerResponse::error(&request.id, "denied by the user"))
    }

    /// Logs what needed a permission: what was signed, encrypted or decrypted, or refused.
    fn record(&mut self, key: &str, request: &SignerRequest, allowed: bool, now: u64) {
        let kind = match &request.call {
            Call::SignEvent(template) => Some(template.kind),
            _ => None,
        };
        self.log.push(Activity {
            at: now,
            app: key.to_owned(),
            method: request.call.method().to_owned(),
            kind,
            allowed,
        });
        if self.log.len() > LOG_LEN {
            let excess = self.log.len() - LOG_LEN;
            self.log.drain(..excess);
        }
    }
}

fn respond(request: &SignerRequest, account: &AccountSecret, relays: &[String]) -> SignerResponse {
    match answer(&request.call, account, relays) {
        Ok(result) => SignerResponse::ok(&request.id, result),
        Err(error) => SignerResponse::error(&request.id, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use sigil_shared::nostr::key::Keys;

    use super::*;

    const RELAYS: &[String] = &[];

    fn request(id: &str, method: &str, params: &[&str]) -> String {
        serde_json::json!({ "id": id, "method": method, "params": params }).to_string()
    }

    fn note(kind: u16) -> String {
        format!(r#"{{"kind":{kind},"content":"hi","tags":[],"created_at":1700000000}}"#)
    }

    /// The signer's decision on `json` from `from` at `now`, with no relays of its own.
    fn ask(
        signer: &mut Signer,
        from: &PublicKey,
        json: &str,
        account: &AccountSecret,
        now: u64,
    ) -> Handled {
        signer.handle(from, json, account, RELAYS, now)
    }

    /// A request to sign a kind-`kind` note.
    fn sign(
        signer: &mut Signer,
        from: &PublicKey,
        account: &AccountSecret,
        id: &str,
        kind: u16,
        now: u64,
    ) -> Handled {
        ask(
            signer,
            from,
            &request(id, "sign_event", &[&note(kind)]),
            account,
            now,
        )
    }

    fn respond(handled: Handled) -> SignerResponse {
        match handled {
            Handled::Respond(response) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// A vault with one app connected by bunker://.
    fn connected() -> (Signer, AccountSecret, Keys) {
        let (mut signer, account, app) = (
            Signer::default(),
            AccountSecret::generate(),
            Keys::generate(),
        );
        signer.set_bunker_secret(Private("one-time".into()));
        assert!(
            !format!("{signer:?}").contains("one-time"),
            "Debug hides the secret"
        );
        let me = account.public_key().to_hex();
        let ack = respond(ask(
            &mut signer,
            &app.public_key(),
            &request("c", "connect", &[&me, "one-time"]),
            &account,
            10,
        ));
        assert_eq!((&*ack.result, ack.error), ("ack", None));
        (signer, account, app)
    }

    #[test]
    fn a_bunker_secret_connects_one_app_once() {
        let (mut signer, account, _app) = connected();
        let me = account.public_key().to_hex();
        let late = Keys::generate().public_key();
        let reused = respond(ask(
            &mut signer,
            &late,
            &request("c", "connect", &[&me, "one-time"]),
            &account,
            11,
        ));
        assert!(reused.error.is_some(), "the secret is used up");
        let stranger = respond(ask(
            &mut signer,
            &late,
            &request("p", "get_public_key", &[]),
            &account,
            11,
        ));
        assert_eq!(stranger.error.as_deref(), Some("not connected"));
        assert_eq!(signer.apps().count(), 1);
    }

    #[test]
    fn new_kinds_ask_and_the_answer_sticks_per_kind() {
        let (mut signer, account, app) = connected();
        let from = app.public_key();
        let Handled::Ask {
            request: asked,
            permission,
        } = sign(&mut signer, &from, &account, "1", 1, 20)
        else {
            panic!("a new kind asks")
        };
        assert_eq!(permission, Permission::SignEvent(1));
        let denied = signer.resolve(&from, asked, Choice::Deny, &account, RELAYS, 21);
        assert_eq!(denied.error.as_deref(), Some("denied by the user"));
        let Handled::Ask { request: asked, .. } = sign(&mut signer, &from, &account, "1b", 1, 21)
        else {
            panic!("denied once: the next request asks again")
        };
        let never = signer.resolve(&from, asked, Choice::Never, &account, RELAYS, 21);
        assert!(never.error.is_some());
        let again = respond(sign(&mut signer, &from, &account, "2", 1, 22));
        assert!(again.error.is_some(), "denied for good");
        let Handled::Ask { request: asked, .. } = sign(&mut signer, &from, &account, "3", 7, 23)
        else {
            panic!("another kind asks")
        };
        let signed = signer.resolve(&from, asked, Choice::Always, &account, RELAYS, 24);
        assert!(signed.error.is_none() && signed.result.contains("\"sig\""));
        let unasked = respond(sign(&mut signer, &from, &account, "4", 7, 25));
        assert!(unasked.error.is_none(), "always for kind 7");
        // The log says what was signed or refused, for which app.
        let log: Vec<(bool, Option<u16>)> =
            signer.log().iter().map(|a| (a.allowed, a.kind)).collect();
        assert_eq!(
            log,
            vec![
                (false, Some(1)),
                (false, Some(1)),
                (false, Some(1)),
                (true, Some(7)),
                (true, Some(7))
            ]
        );
        assert!(signer.log().iter().all(|a| a.app == from.to_hex()));
    }

    #[test]
    fn unknown_methods_get_errors_and_revoked_apps_get_nothing_else() {
        let (mut signer, account, app) = connected();
        let from = app.public_key();
        let unknown = respond(ask(
            &mut signer,
            &from,
            &request("u", "sign_message", &[]),
            &account,
            30,
        ));
        assert_eq!(
            unknown.error.as_deref(),
            Some("unknown method: sign_message")
        );
        let pong = respond(ask(
            &mut signer,
            &from,
            &request("p", "ping", &[]),
            &account,
            30,
        ));
        assert_eq!(&*pong.result, "pong");
        signer.revoke(&from);
        let revoked = respond(ask(
            &mut signer,
            &from,
            &request("p", "ping", &[]),
            &account,
            31,
        ));
        assert_eq!(
            revoked.error.as_deref(),
            Some("this app's connection was revoked")
        );
        assert_eq!(
            ask(&mut signer, &from, "not json", &account, 31),
            Handled::Ignore
        );
    }

    #[test]
    fn an_app_cannot_flood_the_user_with_prompts() {
        let (mut signer, account, app) = connected();
        let from = app.public_key();
        let outcomes: Vec<bool> = (0..13)
            .map(|i| {
                let json = request(&i.to_string(), "sign_event", &[&note(1)]);
                matches!(
                    ask(&mut signer, &from, &json, &account, 40),
                    Handled::Ask { .. }
                )
            })
            .collect();
        let asked = outcomes.iter().filter(|asked| **asked).count();
        assert_eq!(asked, PROMPTS_PER_MINUTE);
        assert!(outcomes[PROMPTS_PER_MINUTE..].iter().all(|asked| !asked));
        assert!(matches!(
            sign(&mut signer, &from, &account, "9", 1, 101),
            Handled::Ask { .. }
        ));
    }

    #[test]
    fn an_invitation_accepted_connects_the_app_with_what_was_granted() {
        let (mut signer, account, app) = (
            Signer::default(),
            AccountSecret::generate(),
            Keys::generate(),
        );
        let uri = format!(
            "nostrconnect://{}?relay=wss://relay.example&secret=s3&perms=sign_event:1,nip44_encrypt&name=Notes",
            app.public_key().to_hex()
        );
        let invitation = NostrConnect::parse(&uri).expect("invitation");
        let first = signer.accept(&invitation, &[Permission::SignEvent(1)], "hello", 50);
        assert_eq!((&*first.result, first.id.as_str()), ("s3", "hello"));
        let from = app.public_key();
        let signed = respond(sign(&mut signer, &from, &account, "1", 1, 51));
        assert!(signed.error.is_none(), "granted at approval");
        assert!(
            matches!(
                ask(
                    &mut signer,
                    &from,
                    &request(
                        "2",
                        "nip44_encrypt",
                        &[&Keys::generate().public_key().to_hex(), "x"]
                    ),
                    &account,
                    52
                ),
                Handled::Ask { .. }
            ),
            "asked for but not granted"
        );
        // Kept in the local vault: apps, permissions and log survive; prompt counters do not.
        let saved = serde_json::to_string(&signer).expect("JSON");
        let read: Signer = serde_json::from_str(&saved).expect("read back");
        let (_, kept) = read.apps().next().expect("the app");
        assert_eq!(kept.name.as_deref(), Some("Notes"));
        assert_eq!(
            kept.permissions.decide(Permission::SignEvent(1)),
            Decision::Allow
        );
        assert_eq!(read.log().len(), 1);
    }
}
